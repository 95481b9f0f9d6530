package prompts

import (
	"bufio"
	"embed"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
)

// files holds the generated prompts and the list they were generated from.
//
//go:embed en/*.wav prompts.txt
var files embed.FS

const dir = "en"

// Names returns the name of every prompt, sorted.
func Names() []string {
	names := loadNames()
	return append([]string(nil), names...)
}

var loadNames = sync.OnceValue(func() []string {
	entries, err := fs.ReadDir(files, dir)
	if err != nil {
		return nil // cannot happen: the directory is embedded
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".wav"); ok {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
})

// WAV returns the prompt's file as stored: a RIFF/WAVE file of 16-bit
// signed PCM, 8 kHz, mono. The slice is shared; callers must not modify it.
func WAV(name string) ([]byte, bool) {
	if !validName(name) {
		return nil, false
	}
	b, err := files.ReadFile(path.Join(dir, name+".wav"))
	if err != nil {
		return nil, false
	}
	return b, true
}

// Text returns what the prompt says, as written in prompts.txt; handy in
// logs and in tests that check what a flow plays.
func Text(name string) (string, bool) {
	text, ok := loadTexts()[name]
	return text, ok
}

var loadTexts = sync.OnceValue(func() map[string]string {
	b, err := files.ReadFile("prompts.txt")
	if err != nil {
		return nil // cannot happen: the file is embedded
	}
	return parseList(string(b))
})

// parseList reads prompts.txt: "name|text" lines, # comments, blank lines.
// scripts/gen-prompts.sh rejects malformed lines, so none are reported here.
func parseList(s string) map[string]string {
	texts := make(map[string]string)
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if name, text, ok := strings.Cut(line, "|"); ok {
			texts[name] = text
		}
	}
	return texts
}

// validName keeps names to what gen-prompts.sh accepts, so a name can never
// reach outside the prompts directory.
func validName(name string) bool {
	if name == "" || name[0] == '-' || name[len(name)-1] == '-' {
		return false
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' && name[i-1] != '-':
		default:
			return false
		}
	}
	return true
}
