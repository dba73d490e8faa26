import java.util.*;

public class Count {
    static volatile long sink;
    public static void main(String[] args) {
        Scanner in = new Scanner(System.in);
        while (in.hasNextLong()) {
            long a = in.nextLong(), b = in.nextLong();
            long steps = 0;
            for (long i = Math.min(a, b); i < Math.max(a, b); i++) { steps++; sink = steps; }
            System.out.println(steps);
        }
    }
}
