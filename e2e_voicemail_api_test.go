package switchboard_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io/fs"
	"math"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchboard/blob"
	"switchboard/store"
)

// toneWAV is seconds of a 440 Hz tone as a 16-bit PCM WAV at rate with
// channels.
func toneWAV(rate, channels int, seconds float64) []byte {
	n := int(float64(rate) * seconds)
	data := make([]byte, 0, n*channels*2)
	for i := 0; i < n; i++ {
		v := int16(0.4 * 32767 * math.Sin(2*math.Pi*440*float64(i)/float64(rate)))
		for range channels {
			data = binary.LittleEndian.AppendUint16(data, uint16(v))
		}
	}
	h := make([]byte, 44)
	le := binary.LittleEndian
	copy(h, "RIFF")
	le.PutUint32(h[4:], uint32(36+len(data)))
	copy(h[8:], "WAVEfmt ")
	le.PutUint32(h[16:], 16)
	le.PutUint16(h[20:], 1)
	le.PutUint16(h[22:], uint16(channels))
	le.PutUint32(h[24:], uint32(rate))
	le.PutUint32(h[28:], uint32(rate*channels*2))
	le.PutUint16(h[32:], uint16(channels*2))
	le.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	le.PutUint32(h[40:], uint32(len(data)))
	return append(h, data...)
}

// upload sends audio as multipart/form-data (part "file") with fields.
func (c *apiClient) upload(method, path string, audio []byte, fields map[string]string) (int, []byte) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		require.NoError(c.t, mw.WriteField(k, v))
	}
	fw, err := mw.CreateFormFile("file", "greeting.wav")
	require.NoError(c.t, err)
	_, err = fw.Write(audio)
	require.NoError(c.t, err)
	require.NoError(c.t, mw.Close())
	return c.raw(method, path, mw.FormDataContentType(), body.Bytes())
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	require.NoError(t, err)
	return n
}

// The voicemail API: mailbox options, greetings uploaded as WAV or MP3 and
// stored as 8 kHz WAV, the recorded name, messages, the storage limit,
// and clearing; bad audio stores nothing.
func TestE2EVoicemailAPI(t *testing.T) {
	e := startEngine(t)
	e.api.createUser("1001", map[string]any{"first_name": "Ada", "last_name": "Lovelace"})
	const base = "/api/v1/users/1001/voicemail"
	audioDir := filepath.Join(e.cfg.DataDir, "audio")

	var vm map[string]any
	e.api.must(http.MethodGet, base, nil, http.StatusOK, &vm)
	require.Equal(t, map[string]any{"enabled": true, "sort_latest_first": false, "announce_time": true,
		"announce_caller_id": true, "operator_forward": "", "email_mode": "none", "storage_limit_bytes": float64(100 << 20),
		"used_bytes": 0.0, "new_messages": 0.0, "saved_messages": 0.0, "active_greeting": nil, "has_name": false,
		"locked_until": nil}, vm)
	e.api.must(http.MethodPatch, base, map[string]any{"enabled": true, "email_mode": "brief_attachment",
		"operator_forward": "1002", "sort_latest_first": true}, http.StatusOK, &vm)
	require.Equal(t, "brief_attachment", vm["email_mode"])
	var user map[string]any
	e.api.must(http.MethodGet, "/api/v1/users/1001", nil, http.StatusOK, &user)
	require.Equal(t, true, user["voicemail_enabled"], "enabled is the user's voicemail_enabled")
	var apiErr struct{ Field, Rule string }
	e.api.must(http.MethodPatch, base, map[string]any{"email_mode": "pigeon"}, http.StatusBadRequest, &apiErr)
	require.Equal(t, "email_mode", apiErr.Field)
	e.api.must(http.MethodPatch, base, map[string]any{"used_bytes": 5}, http.StatusBadRequest, &apiErr)
	require.Equal(t, "used_bytes", apiErr.Field)

	// A greeting uploaded as a 44.1 kHz stereo WAV is stored as 8 kHz mono.
	code, body := e.api.upload(http.MethodPost, base+"/greetings", toneWAV(44100, 2, 1.0), map[string]string{"name": "Office"})
	require.Equal(t, http.StatusCreated, code, string(body))
	var g struct {
		ID         int64  `json:"id"`
		Name       string `json:"name"`
		DurationMS int64  `json:"duration_ms"`
		SizeBytes  int64  `json:"size_bytes"`
	}
	require.NoError(t, json.Unmarshal(body, &g))
	require.Equal(t, "Office", g.Name)
	require.InDelta(t, 1000, g.DurationMS, 5)
	require.EqualValues(t, 44+16000, g.SizeBytes)
	code, wav := e.api.raw(http.MethodGet, base+"/greetings/"+strconv.FormatInt(g.ID, 10)+"/audio", "", nil)
	require.Equal(t, http.StatusOK, code)
	require.Len(t, wav, 44+16000)
	require.EqualValues(t, 8000, binary.LittleEndian.Uint32(wav[24:]), "8 kHz")
	require.EqualValues(t, 1, binary.LittleEndian.Uint16(wav[22:]), "mono")
	mp3, err := os.ReadFile("audiofile/testdata/tone440-44k-stereo.mp3")
	require.NoError(t, err)
	code, body = e.api.upload(http.MethodPost, base+"/greetings", mp3, map[string]string{"name": "Holidays"})
	require.Equal(t, http.StatusCreated, code, string(body))
	code, _ = e.api.upload(http.MethodPost, base+"/greetings", mp3, map[string]string{"name": "Holidays"})
	require.Equal(t, http.StatusConflict, code, "greeting names are unique per user")
	files := countFiles(t, audioDir)
	require.Equal(t, 2, files, "the refused duplicate left no audio behind")

	// Bad audio is refused and stores nothing.
	for name, bad := range map[string][]byte{"text": []byte("not audio at all"), "truncated": toneWAV(8000, 1, 1)[:40]} {
		code, body := e.api.upload(http.MethodPost, base+"/greetings", bad, map[string]string{"name": name})
		require.Equal(t, http.StatusBadRequest, code, string(body))
		require.NoError(t, json.Unmarshal(body, &apiErr))
		require.Equal(t, "file", apiErr.Field)
		require.Equal(t, "audio", apiErr.Rule)
	}
	code, _ = e.api.raw(http.MethodPost, base+"/greetings", "audio/wav", toneWAV(8000, 1, 0.1))
	require.Equal(t, http.StatusUnsupportedMediaType, code)
	require.Equal(t, files, countFiles(t, audioDir))

	e.api.must(http.MethodPatch, base, map[string]any{"active_greeting": g.ID}, http.StatusOK, &vm)
	require.Equal(t, float64(g.ID), vm["active_greeting"])
	e.api.must(http.MethodPatch, base, map[string]any{"active_greeting": 9999}, http.StatusBadRequest, &apiErr)
	require.Equal(t, "active_greeting", apiErr.Field)

	// The recorded name: at most 10 s.
	code, _ = e.api.upload(http.MethodPut, base+"/name", toneWAV(8000, 1, 12), nil)
	require.Equal(t, http.StatusBadRequest, code)
	code, body = e.api.upload(http.MethodPut, base+"/name", toneWAV(16000, 1, 1.5), nil)
	require.Equal(t, http.StatusNoContent, code, string(body))
	code, wav = e.api.raw(http.MethodGet, base+"/name", "", nil)
	require.Equal(t, http.StatusOK, code)
	require.Len(t, wav, 44+24000)

	// A message as the voicemail application files it: audio first, then
	// the row.
	db, err := store.Open(context.Background(), e.cfg.DBPath)
	require.NoError(t, err)
	blobs, err := blob.NewDir(audioDir)
	require.NoError(t, err)
	key := blob.NewKey("voicemail/1001", ".wav")
	msgWAV := toneWAV(8000, 1, 2)
	_, err = blobs.Put(context.Background(), key, bytes.NewReader(msgWAV))
	require.NoError(t, err)
	_, err = db.Voicemail().AddMessage(context.Background(), "1001", store.NewMessage{CallerNumber: "+14155550100",
		CallerName: "Grace Hopper", ReceivedAt: time.Now(), Duration: 2 * time.Second, SizeBytes: int64(len(msgWAV)), AudioKey: key})
	require.NoError(t, err)
	require.NoError(t, db.Close())

	var msgs struct {
		Messages []struct {
			ID     int64  `json:"id"`
			Folder string `json:"folder"`
			From   string `json:"from"`
		} `json:"messages"`
	}
	e.api.must(http.MethodGet, base+"/messages", nil, http.StatusOK, &msgs)
	require.Len(t, msgs.Messages, 1)
	require.Equal(t, "+14155550100", msgs.Messages[0].From)
	id := strconv.FormatInt(msgs.Messages[0].ID, 10)
	code, got := e.api.raw(http.MethodGet, base+"/messages/"+id+"/audio", "", nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, msgWAV, got, "the audio comes back as stored")
	e.api.must(http.MethodPatch, base+"/messages/"+id, map[string]any{"folder": "saved"}, http.StatusOK, nil)
	e.api.must(http.MethodGet, base, nil, http.StatusOK, &vm)
	require.Equal(t, 0.0, vm["new_messages"])
	require.Equal(t, 1.0, vm["saved_messages"])
	e.api.must(http.MethodGet, base+"/messages?folder=new", nil, http.StatusOK, &msgs)
	require.Empty(t, msgs.Messages)

	// Over the storage limit: refused, nothing stored.
	used := vm["used_bytes"].(float64)
	e.api.must(http.MethodPatch, base, map[string]any{"storage_limit_bytes": int64(used) + 1000}, http.StatusOK, nil)
	files = countFiles(t, audioDir)
	code, body = e.api.upload(http.MethodPost, base+"/greetings", toneWAV(8000, 1, 1), map[string]string{"name": "Big"})
	require.Equal(t, http.StatusConflict, code, string(body))
	require.NoError(t, json.Unmarshal(body, &apiErr))
	require.Equal(t, "storage_limit", apiErr.Rule)
	require.Equal(t, files, countFiles(t, audioDir))

	// Deleting removes the audio too.
	var cleared map[string]int
	e.api.must(http.MethodPost, base+"/messages:clear", nil, http.StatusOK, &cleared)
	require.Equal(t, 1, cleared["deleted"])
	code, _ = e.api.raw(http.MethodPost, base+":clear-data", "", nil)
	require.Equal(t, http.StatusNoContent, code)
	e.api.must(http.MethodGet, base, nil, http.StatusOK, &vm)
	require.Equal(t, 0.0, vm["used_bytes"])
	require.Equal(t, false, vm["has_name"])
	require.Nil(t, vm["active_greeting"])
	deadline := time.Now().Add(3 * time.Second)
	for countFiles(t, audioDir) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	require.Zero(t, countFiles(t, audioDir), "deleted audio is removed from the data dir")
	code, _ = e.api.raw(http.MethodGet, base+"/messages/"+id+"/audio", "", nil)
	require.Equal(t, http.StatusNotFound, code)
	code, _ = e.api.raw(http.MethodGet, "/api/v1/users/1999/voicemail", "", nil)
	require.Equal(t, http.StatusNotFound, code)
}
