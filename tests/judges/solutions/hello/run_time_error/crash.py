print("Hello World!")
raise RuntimeError("boom")
