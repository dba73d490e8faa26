class Slow { public static void main(String[] a) { while (true) {} } }
