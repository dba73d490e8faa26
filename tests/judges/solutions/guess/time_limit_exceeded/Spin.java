public class Spin {
    static volatile long sink;
    public static void main(String[] args) {
        for (long i = 0; ; i++) sink = i;
    }
}
