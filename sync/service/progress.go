package service

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
	"go.uber.org/zap"
)

// logProgress logs done/total, rate and ETA every interval until ctx ends.
func logProgress(ctx context.Context, log *zap.Logger, p progressOf, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	logProgressOn(ctx, log, p, t.C)
}

// logProgressOn logs one line per tick, timed by the tick, until ctx ends.
func logProgressOn(ctx context.Context, log *zap.Logger, p progressOf, tick <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case at := <-tick:
			done, total, since := p.Snapshot()
			if since.IsZero() {
				log.Info("sync progress", zap.String("phase", "reading and planning"))
				continue
			}
			rate, eta := rateAndETA(done, total, at.Sub(since))
			log.Info("sync progress", zap.Int64("done", done), zap.Int64("total", total),
				zap.Float64("perSecond", rate), zap.String("eta", eta.String()))
		}
	}
}

func rateAndETA(done, total int64, elapsed time.Duration) (float64, time.Duration) {
	if done == 0 || elapsed <= 0 {
		return 0, 0
	}
	rate := float64(done) / elapsed.Seconds()
	eta := time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second)
	return float64(int(rate*10)) / 10, eta
}

// IsTerminal says whether w is a terminal a person watches.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// showBar draws a live progress bar on w until ctx ends.
func showBar(ctx context.Context, w io.Writer, p progressOf) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	showBarOn(ctx, w, p, t.C)
}

// showBarOn redraws the bar on each tick until ctx ends.
func showBarOn(ctx context.Context, w io.Writer, p progressOf, tick <-chan time.Time) {
	var bar *progressbar.ProgressBar
	for {
		select {
		case <-ctx.Done():
			if bar != nil {
				done, _, _ := p.Snapshot()
				bar.Set64(done)
				bar.Finish()
				io.WriteString(w, "\n")
			}
			return
		case <-tick:
			done, total, since := p.Snapshot()
			if since.IsZero() || total == 0 {
				continue
			}
			if bar == nil {
				bar = progressbar.NewOptions64(total,
					progressbar.OptionSetWriter(w),
					progressbar.OptionSetDescription("applying changes"),
					progressbar.OptionShowCount(),
					progressbar.OptionShowIts(),
					progressbar.OptionSetItsString("changes"),
					progressbar.OptionSetPredictTime(true),
					progressbar.OptionFullWidth(),
				)
			}
			bar.Set64(done)
		}
	}
}
