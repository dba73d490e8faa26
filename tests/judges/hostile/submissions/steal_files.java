// Reads every path given (one a line), and runs `cat` on it too; prints whatever it got.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Paths;

public class Main {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        String path;
        while ((path = in.readLine()) != null) {
            if (path.isBlank()) continue;
            try {
                System.out.println("ESCAPED read " + path + " " + new String(Files.readAllBytes(Paths.get(path))));
            } catch (Exception e) { }
            try {
                Process p = new ProcessBuilder("cat", path).start();
                String got = new String(p.getInputStream().readAllBytes());
                if (p.waitFor() == 0) System.out.println("ESCAPED cat " + path + " " + got);
            } catch (Exception e) { }
        }
        System.out.println("contained");
    }
}
