raise SystemExit(f"cannot start: {1 // 0}")
