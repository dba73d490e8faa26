int solve();
