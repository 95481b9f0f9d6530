package voicemail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"switchboard/ivr"
	"switchboard/media"
	"switchboard/prompts"
)

var errUnknownPrompt = errors.New("no such prompt")

// promptCache holds the voice prompts decoded, each from its first use on,
// for every call: prompts are played all day and never change.
type promptCache struct {
	m sync.Map // name → *cachedPrompt; only names prompts knows
}

type cachedPrompt struct {
	once sync.Once
	pcm  []int16 // shared by every call; never modified
	err  error
}

func (p *promptCache) get(name string) ([]int16, error) {
	v, ok := p.m.Load(name)
	if !ok {
		if _, ok := prompts.WAV(name); !ok {
			return nil, errUnknownPrompt
		}
		v, _ = p.m.LoadOrStore(name, &cachedPrompt{})
	}
	e := v.(*cachedPrompt)
	e.once.Do(func() {
		b, _ := prompts.WAV(name)
		e.pcm, e.err = media.ReadWAV(bytes.NewReader(b), 0)
	})
	return e.pcm, e.err
}

// play plays a Play's items back to back. A key in StopKeys, pressed
// before or while it plays, stops it and is reported; other keys are
// dropped then. Without StopKeys keys stay queued for the next action.
func (c *callRun) play(ctx context.Context, p ivr.Play) ivr.Event {
	if c.checkGone(ctx) {
		return ivr.CallEnded{}
	}
	if p.StopKeys != "" {
		if key, ok := c.takeWaiting(p.StopKeys); ok {
			return ivr.Digit{Key: key}
		}
	}
	srcs := c.sources(ctx, p.Items)
	if c.checkGone(ctx) {
		return ivr.CallEnded{}
	}
	if len(srcs) == 0 {
		return nil
	}
	src := media.Concat(srcs...)
	var key rune
	var err error
	if p.StopKeys == "" {
		err = c.sess.Play(ctx, src)
	} else {
		key, err = c.playUntilKey(ctx, src, p.StopKeys)
	}
	switch {
	case key != 0:
		return ivr.Digit{Key: key}
	case c.checkGone(ctx):
		return ivr.CallEnded{}
	case err != nil:
		c.log.Warn("voicemail: play stopped", "err", err)
	}
	return nil
}

// playUntilKey plays src until it ends or a key in stopKeys is pressed,
// dropping other keys without interrupting the audio. (PlayUntilDigit
// would lose the frame in flight at every dropped key.)
func (c *callRun) playUntilKey(ctx context.Context, src media.Source, stopKeys string) (rune, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var key rune // written before cancel, read after wg.Wait
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case d := <-c.sess.DTMF():
				if isKey(d.Digit, stopKeys) {
					key = d.Digit
					cancel()
					return
				}
				c.log.Debug("voicemail: key dropped during a prompt", "key", d.String())
			case <-ctx.Done():
				return
			}
		}
	})
	err := c.sess.Play(ctx, src)
	cancel()
	wg.Wait()
	return key, err
}

// sources turns items into audio. An item that cannot be played (an
// unknown prompt, missing or damaged audio) is skipped and logged: the
// caller hears the rest rather than nothing.
func (c *callRun) sources(ctx context.Context, items []ivr.Item) []media.Source {
	out := make([]media.Source, 0, len(items))
	for _, it := range items {
		src, err := c.source(ctx, it)
		if err != nil {
			if ctx.Err() == nil {
				c.log.Warn("voicemail: audio skipped", "kind", it.Kind, "name", it.Name, "err", err)
			}
			continue
		}
		out = append(out, src)
	}
	return out
}

func (c *callRun) source(ctx context.Context, it ivr.Item) (media.Source, error) {
	switch it.Kind {
	case ivr.ItemPrompt:
		pcm, err := c.r.prompts.get(it.Name)
		if err != nil {
			return nil, fmt.Errorf("prompt %q: %w", it.Name, err)
		}
		return media.PCM(pcm), nil
	case ivr.ItemAudio:
		rc, err := c.r.cfg.Audio.Open(ctx, it.Name)
		if err != nil {
			return nil, fmt.Errorf("open audio %s: %w", it.Name, err)
		}
		defer rc.Close()
		pcm, err := media.ReadWAV(rc, c.r.maxSamples)
		if err != nil {
			return nil, fmt.Errorf("read audio %s: %w", it.Name, err)
		}
		return media.PCM(pcm), nil
	case ivr.ItemRecording:
		f, err := os.Open(c.r.cfg.Recordings.Path(it.Name))
		if err != nil {
			return nil, fmt.Errorf("open recording: %w", err)
		}
		defer f.Close()
		pcm, err := media.ReadWAV(f, c.r.maxSamples)
		if err != nil {
			return nil, fmt.Errorf("read recording %s: %w", it.Name, err)
		}
		return media.PCM(pcm), nil
	case ivr.ItemBeep:
		return media.Beep(), nil
	case ivr.ItemSilence:
		return media.Silence(it.Duration), nil
	}
	return nil, fmt.Errorf("item of kind %v", it.Kind)
}

// Prompts is the named prompts back to back, from the runner's decoded
// prompts, for playing outside an application.
func (r *Runner) Prompts(names ...string) (media.Source, error) {
	srcs := make([]media.Source, len(names))
	for i, n := range names {
		pcm, err := r.prompts.get(n)
		if err != nil {
			return nil, fmt.Errorf("prompt %q: %w", n, err)
		}
		srcs[i] = media.PCM(pcm)
	}
	return media.Concat(srcs...), nil
}
