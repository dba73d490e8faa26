#include "util.h"
int main(){return solve();}
