/* The preprocessor reads a host file into the compiler's error messages. */
#include "@SECRET_PATH@"
#include "/etc/shadow"
int main(void) { return 0; }
