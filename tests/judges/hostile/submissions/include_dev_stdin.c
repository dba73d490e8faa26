/* The preprocessor reads the compiler's stdin (it must not wait for a terminal or a pipe). */
#include "/dev/stdin"
