/* 30 000 invalid assignments through nested macros: about 18 MB of diagnostics. */
#define A 1=1; 1=1; 1=1; 1=1; 1=1; 1=1; 1=1; 1=1; 1=1; 1=1;
#define B A A A A A A A A A A
#define C B B B B B B B B B B
#define D C C C C C C C C C C
int main(void) { D D D }
