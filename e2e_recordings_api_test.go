package switchboard_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"switchboard/blob"
	"switchboard/store"
)

type apiRecording struct {
	ID           int64     `json:"id"`
	Extension    string    `json:"extension"`
	CallerNumber string    `json:"caller_number"`
	CallerName   string    `json:"caller_name"`
	Callee       string    `json:"callee"`
	CallID       string    `json:"call_id"`
	StartedAt    time.Time `json:"started_at"`
	DurationS    int64     `json:"duration_s"`
	SizeBytes    int64     `json:"size_bytes"`
}

type apiRecordingList struct {
	Recordings []apiRecording `json:"recordings"`
	Next       string         `json:"next"`
}

// Recordings as a call files them (the WAV complete in the blob store,
// then a row per recorded user) are listed, served, counted against the
// owner's storage and deleted through the API; the audio goes with its
// last row.
func TestE2ERecordingsAPI(t *testing.T) {
	ctx := context.Background()
	e := startEngine(t)
	e.api.createUser("1001", map[string]any{"first_name": "Ada", "record_calls": true})
	e.api.createUser("1002", map[string]any{"first_name": "Grace", "record_calls": true})
	audioDir := filepath.Join(e.cfg.DataDir, "audio")

	db, err := store.Open(ctx, e.cfg.DBPath)
	require.NoError(t, err)
	defer db.Close()
	blobs, err := blob.NewDir(audioDir)
	require.NoError(t, err)
	put := func(seconds float64) (string, []byte) {
		wav := toneWAV(8000, 1, seconds)
		key := blob.NewKey("recordings", ".wav")
		_, err := blobs.Put(ctx, key, bytes.NewReader(wav))
		require.NoError(t, err)
		return key, wav
	}

	// An outside call to 1001 earlier, then 1001 calling 1002: one audio,
	// a row for each recorded user.
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	outKey, outWAV := put(1.5)
	_, err = db.Recordings().AddRecording(ctx, "1001", store.NewRecording{CallerNumber: "+14155550100",
		CallerName: "Lab", Callee: "1001", CallID: "out-1", StartedAt: t0, Duration: 1500 * time.Millisecond,
		SizeBytes: int64(len(outWAV)), AudioKey: outKey})
	require.NoError(t, err)
	callKey, callWAV := put(2)
	for _, ext := range []string{"1001", "1002"} {
		_, err = db.Recordings().AddRecording(ctx, ext, store.NewRecording{CallerNumber: "1001", CallerName: "Ada",
			Callee: "1002", CallID: "int-1", StartedAt: t0.Add(time.Hour), Duration: 2 * time.Second,
			SizeBytes: int64(len(callWAV)), AudioKey: callKey})
		require.NoError(t, err)
	}

	var list apiRecordingList
	e.api.must(http.MethodGet, "/api/v1/recordings?extension=1001&limit=1", nil, http.StatusOK, &list)
	require.Len(t, list.Recordings, 1)
	require.NotEmpty(t, list.Next)
	latest := list.Recordings[0]
	require.Equal(t, apiRecording{ID: latest.ID, Extension: "1001", CallerNumber: "1001", CallerName: "Ada",
		Callee: "1002", CallID: "int-1", StartedAt: t0.Add(time.Hour), DurationS: 2, SizeBytes: int64(len(callWAV))}, latest)
	e.api.must(http.MethodGet, "/api/v1/recordings?extension=1001&limit=1&after="+url.QueryEscape(list.Next), nil, http.StatusOK, &list)
	require.Len(t, list.Recordings, 1)
	require.Empty(t, list.Next)
	earlier := list.Recordings[0]
	require.Equal(t, "out-1", earlier.CallID)
	require.Equal(t, int64(2), earlier.DurationS, "1.5 s rounds to 2")

	e.api.must(http.MethodGet, "/api/v1/recordings?from="+url.QueryEscape(t0.Add(30*time.Minute).Format(time.RFC3339)), nil,
		http.StatusOK, &list)
	require.Len(t, list.Recordings, 2, "the call between the two, once for each")
	e.api.must(http.MethodGet, "/api/v1/recordings?to="+url.QueryEscape(t0.Add(time.Minute).Format(time.RFC3339)), nil,
		http.StatusOK, &list)
	require.Len(t, list.Recordings, 1)
	var apiErr struct{ Field, Rule string }
	e.api.must(http.MethodGet, "/api/v1/recordings?from=monday", nil, http.StatusBadRequest, &apiErr)
	require.Equal(t, "from", apiErr.Field)
	e.api.must(http.MethodGet, "/api/v1/recordings?after=nope", nil, http.StatusBadRequest, &apiErr)
	require.Equal(t, "after", apiErr.Field)
	e.api.must(http.MethodGet, "/api/v1/recordings?extension=1999", nil, http.StatusNotFound, nil)

	// The audio comes back as stored: 8 kHz 16-bit WAV.
	code, got := e.api.raw(http.MethodGet, "/api/v1/recordings/"+strconv.FormatInt(latest.ID, 10)+"/audio", "", nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, callWAV, got)
	require.EqualValues(t, 8000, binary.LittleEndian.Uint32(got[24:]))

	// Recordings count against the owner's storage.
	var vm map[string]any
	e.api.must(http.MethodGet, "/api/v1/users/1001/voicemail", nil, http.StatusOK, &vm)
	require.Equal(t, float64(len(outWAV)+len(callWAV)), vm["used_bytes"])
	e.api.must(http.MethodPatch, "/api/v1/users/1002/voicemail", map[string]any{"storage_limit_bytes": len(callWAV) + 100},
		http.StatusOK, nil)
	_, err = db.Recordings().AddRecording(ctx, "1002", store.NewRecording{StartedAt: t0, SizeBytes: 101, AudioKey: outKey})
	require.ErrorIs(t, err, store.ErrMailboxFull)

	// Deleting 1001's copy of the shared call keeps the audio for 1002;
	// deleting the last copy removes it from the data dir.
	require.Equal(t, 2, countFiles(t, audioDir))
	e.api.must(http.MethodDelete, "/api/v1/recordings/"+strconv.FormatInt(latest.ID, 10), nil, http.StatusNoContent, nil)
	e.api.must(http.MethodDelete, "/api/v1/recordings/"+strconv.FormatInt(latest.ID, 10), nil, http.StatusNotFound, nil)
	e.api.must(http.MethodGet, "/api/v1/recordings?extension=1002", nil, http.StatusOK, &list)
	require.Len(t, list.Recordings, 1)
	other := list.Recordings[0]
	code, got = e.api.raw(http.MethodGet, "/api/v1/recordings/"+strconv.FormatInt(other.ID, 10)+"/audio", "", nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, callWAV, got, "1002's copy is still there")

	e.api.must(http.MethodDelete, "/api/v1/recordings/"+strconv.FormatInt(other.ID, 10), nil, http.StatusNoContent, nil)
	e.api.must(http.MethodDelete, "/api/v1/recordings/"+strconv.FormatInt(earlier.ID, 10), nil, http.StatusNoContent, nil)
	deadline := time.Now().Add(3 * time.Second)
	for countFiles(t, audioDir) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	require.Zero(t, countFiles(t, audioDir), "deleted recordings' audio is removed from the data dir")
	e.api.must(http.MethodGet, "/api/v1/recordings", nil, http.StatusOK, &list)
	require.Empty(t, list.Recordings)
	e.api.must(http.MethodGet, "/api/v1/users/1001/voicemail", nil, http.StatusOK, &vm)
	require.Equal(t, 0.0, vm["used_bytes"])
}
