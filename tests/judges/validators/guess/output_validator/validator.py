"""Interactive validator of "Guess the Number" (Kattis interface).

validator input answer feedback_dir: the input is "fixed N", "random SEED" or "adaptive SEED".
The submission's guesses arrive on stdin, our answers go to stdout. Ten guesses at most.
Adaptive: the number is chosen as late as possible, always keeping the larger side.
Exit 42: guessed; 43: wrong answer (bad guess, too many guesses, or no guess).
"""

import random
import sys

LOW, HIGH, GUESSES = 1, 1000, 10


def main() -> int:
    with open(sys.argv[1]) as f:
        mode, value = f.read().split()
    feedback = open(sys.argv[3] + "/judgemessage.txt", "w")

    def finish(code: int, message: str) -> int:
        feedback.write(message + "\n")
        feedback.close()
        return code

    low, high = LOW, HIGH
    secret = None
    if mode == "fixed":
        secret = int(value)
    elif mode == "random":
        secret = random.Random(int(value)).randint(LOW, HIGH)
    for number in range(1, GUESSES + 1):
        line = sys.stdin.readline()
        if not line:
            return finish(43, f"no guess {number}: the program stopped talking")
        try:
            guess = int(line.strip())
        except ValueError:
            return finish(43, f"guess {number} is not an integer: {line.strip()[:40]!r}")
        if not LOW <= guess <= HIGH:
            return finish(43, f"guess {number} out of range: {guess}")
        if secret is None:  # adaptive: answer so that the larger range stays possible
            if low == high == guess:
                answer = "correct"
            elif guess < low:
                answer = "higher"
            elif guess > high:
                answer = "lower"
            elif guess - low >= high - guess:
                answer, high = "lower", guess - 1
            else:
                answer, low = "higher", guess + 1
            if low > high:
                secret = guess
                answer = "correct"
        else:
            answer = ("correct" if guess == secret else "lower" if guess > secret
                      else "higher")
        print(answer, flush=True)
        if answer == "correct":
            return finish(42, f"guessed in {number}")
    return finish(43, f"not guessed in {GUESSES} guesses")


if __name__ == "__main__":
    sys.exit(main())
