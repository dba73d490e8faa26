import java.io.*;

public class Search {
    public static void main(String[] args) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        int low = 1, high = 1000;
        while (true) {
            int guess = (low + high) / 2;
            System.out.println(guess);
            System.out.flush();
            String answer = in.readLine();
            if (answer == null || answer.trim().equals("correct")) break;
            if (answer.trim().equals("lower")) high = guess - 1; else low = guess + 1;
        }
    }
}
