// Prints a guess outside the range: the validator rejects it at once.
public class OutOfRange {
    public static void main(String[] args) {
        System.out.println(0);
        System.out.flush();
    }
}
