// Loaded before every test file (bunfig.toml). Tests that start databases and servers need more than Bun's 5 s
// default on a busy 2-core machine; a hung test still fails, after 60 s.
import { setDefaultTimeout } from 'bun:test';

setDefaultTimeout(60_000);
