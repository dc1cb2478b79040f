// Preloaded with --import by tests: after the process writes a line containing
// $ASCEND_TEST_PAUSE_AFTER to stdout or stderr, it blocks for 1.5 s before going on. That is the
// scheduler preempting it at the worst moment, made certain: a signal sent the moment the line
// is read arrives while the next statements have not run yet.
const marker = process.env.ASCEND_TEST_PAUSE_AFTER;
if (marker) {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  let paused = false;
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    stream.write = (chunk, ...rest) => {
      const r = write(chunk, ...rest);
      if (!paused && String(chunk).includes(marker)) {
        paused = true;
        Atomics.wait(pause, 0, 0, 1500);
      }
      return r;
    };
  }
}
