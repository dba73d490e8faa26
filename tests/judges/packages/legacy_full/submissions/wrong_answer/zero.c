#include <stdio.h>
/* @EXPECTED_RESULTS@: WRONG-ANSWER, TIMELIMIT */
int main(void){puts("0");}
