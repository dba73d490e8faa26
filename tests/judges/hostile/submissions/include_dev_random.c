/* The preprocessor reads an endless device. */
#include "/dev/random"
int main(void) { return 0; }
