// Command benchusers fills a Switchboard database with the users of a sipp
// load test: for i in [0, n), one user with one phone named PREFIX+i
// (zero-padded to max(4, digits(n-1))) whose SIP password is PASSPREFIX+i,
// the scheme of the bench harness's users.csv. With a digits-only prefix the
// user's extension is the phone name (so that calls to sip:PREFIX+i reach
// it); otherwise it is 20000+i. With -voicemail every user's voicemail is
// on: a call to a user whose phone is not registered goes to the mailbox.
// With -record-calls every user records their calls: the engine bridges
// every call to or from them and files a recording of it.
//
//	go run ./scripts/benchusers -db bench.db -n 10000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"

	"switchboard/store"
)

func main() {
	db := flag.String("db", "bench.db", "database file")
	n := flag.Int("n", 10000, "number of users")
	prefix := flag.String("user-prefix", "u", "phone name prefix")
	passPrefix := flag.String("pass-prefix", "benchpass", "SIP password prefix (passwords need 8 characters)")
	unlimited := flag.Bool("unlimited-call-paths", false, "no call path limit (a load whose calls overlap is not refused as busy)")
	voicemail := flag.Bool("voicemail", false, "voicemail on for every user")
	record := flag.Bool("record-calls", false, "every user records their calls (calls to and from them are bridged)")
	flag.Parse()
	if err := run(*db, *n, *prefix, *passPrefix, *unlimited, *voicemail, *record); err != nil {
		fmt.Fprintln(os.Stderr, "benchusers:", err)
		os.Exit(1)
	}
}

func run(path string, n int, prefix, passPrefix string, unlimited, voicemail, record bool) error {
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	if err != nil {
		return err
	}
	defer db.Close()
	width := max(4, len(strconv.Itoa(n-1)))
	jobs := make(chan int)
	errc := make(chan error, 1)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) * 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				digits := fmt.Sprintf("%0*d", width, i)
				ext := strconv.Itoa(20000 + i)
				if isDigits(prefix) {
					ext = prefix + digits
				}
				_, err := db.Users().Create(ctx, store.NewUser{User: store.User{Extension: ext, FirstName: "Bench", LastName: digits, VoicemailEnabled: voicemail, RecordCalls: record}})
				if err != nil && !errors.Is(err, store.ErrConflict) {
					select {
					case errc <- fmt.Errorf("user %s: %w", ext, err):
					default:
					}
					continue
				}
				if unlimited {
					zero := 0 // Update's 0 is unlimited
					if _, err := db.Users().Update(ctx, ext, store.UserUpdate{CallPaths: &zero}); err != nil {
						select {
						case errc <- fmt.Errorf("user %s: %w", ext, err):
						default:
						}
						continue
					}
				}
				_, err = db.Phones().Create(ctx, ext, store.Phone{Name: prefix + digits, SIPPassword: passPrefix + digits})
				if err != nil && !errors.Is(err, store.ErrConflict) {
					select {
					case errc <- fmt.Errorf("phone %s: %w", prefix+digits, err):
					default:
					}
				}
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
	}
	fmt.Printf("%d users with phones %s%0*d..%s%0*d\n", n, prefix, width, 0, prefix, width, n-1)
	return nil
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}
