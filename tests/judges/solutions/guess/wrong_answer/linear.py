# Guesses 1, 2, 3, ...: ten guesses are not enough, then stops.
for guess in range(1, 11):
    print(guess, flush=True)
    if input().strip() == "correct":
        break
