import java.util.Scanner;
public class Even {
    public static void main(String[] args) {
        Scanner in = new Scanner(System.in);
        int n = in.nextInt();
        for (int i = 0; i < n; i++) { String w = in.next(); if (i % 2 == 1) System.out.println(w); }
    }
}
