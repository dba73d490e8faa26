/* One 1 GiB array on the stack: touching it overflows the stack at once (SIGSEGV). */
int main(void)
{
	volatile char frame[1 << 30];
	frame[0] = 1;
	return frame[0] - 1;
}
