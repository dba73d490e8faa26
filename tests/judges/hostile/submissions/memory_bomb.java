// Keeps 1 MiB after 1 MiB, forever.
import java.util.ArrayList;
import java.util.List;

public class Main {
    public static void main(String[] args) {
        List<long[]> kept = new ArrayList<>();
        while (true) kept.add(new long[1 << 17]);
    }
}
