import java.io.*;
import java.util.*;

public class Different {
    public static void main(String[] args) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        StringBuilder out = new StringBuilder();
        String line;
        while ((line = in.readLine()) != null && !line.isBlank()) {
            StringTokenizer t = new StringTokenizer(line);
            long a = Long.parseLong(t.nextToken()), b = Long.parseLong(t.nextToken());
            out.append(Math.abs(a - b)).append('\n');
        }
        System.out.print(out);
    }
}
