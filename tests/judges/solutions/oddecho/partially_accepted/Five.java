import java.util.*;

// Solves only the first subtask (exactly five words).
public class Five {
    public static void main(String[] args) {
        Scanner in = new Scanner(System.in);
        int n = in.nextInt();
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < n; i++) {
            String w = in.next();
            if (n != 5 || i % 2 == 0) out.append(w).append('\n');
        }
        System.out.print(out);
    }
}
