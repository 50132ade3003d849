package audit

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// tailChunk is how much of the file cutTornTail reads at a time, walking
// back to the last line end.
const tailChunk = 64 << 10

// cutTornTail removes what follows the last line end of f, size bytes
// long, and returns the new size and the bytes removed. A process killed
// in the middle of a write(2) (SIGKILL, the OOM killer) can leave part of
// a line when the line crosses a page of the file; the next run's lines
// would be glued to it and the log would no longer read. The part is not
// a record: a change's intent line is written whole before its request,
// so a request never followed a line cut short.
func cutTornTail(f *os.File, size int64) (int64, int64, error) {
	end := size
	buf := make([]byte, min(tailChunk, max(size, 1)))
	for end > 0 {
		n := min(int64(len(buf)), end)
		chunk := buf[:n]
		if _, err := f.ReadAt(chunk, end-n); err != nil && err != io.EOF {
			return size, 0, fmt.Errorf("reading the end of the log: %w", err)
		}
		if i := bytes.LastIndexByte(chunk, '\n'); i >= 0 {
			end = end - n + int64(i) + 1
			break
		}
		end -= n
	}
	if end == size {
		return size, 0, nil
	}
	if err := f.Truncate(end); err != nil {
		return size, 0, fmt.Errorf("cutting a line left unfinished by a crash: %w", err)
	}
	return end, size - end, nil
}
