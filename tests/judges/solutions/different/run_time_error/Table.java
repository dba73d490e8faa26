import java.util.*;

public class Table {
    public static void main(String[] args) {
        Scanner in = new Scanner(System.in);
        int[] table = new int[1000];
        while (in.hasNextLong()) {
            long a = in.nextLong(), b = in.nextLong();
            System.out.println(table[(int) Math.abs(a - b)]);
        }
    }
}
