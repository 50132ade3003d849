package condeco

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/nyaruka/phonenumbers"
	"google.golang.org/protobuf/proto"
)

// libraryE164 is E164 as libphonenumber's documentation writes it, the
// reference the faster E164 must equal.
func libraryE164(s, region string) (string, bool) {
	if region == "" {
		region = "ZZ"
	}
	n, err := phonenumbers.Parse(s, strings.ToUpper(region))
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", false
	}
	return phonenumbers.Format(n, phonenumbers.E164), true
}

// phoneSample is a number to read as if the user's region were region.
type phoneSample struct{ s, region string }

// phoneCorpus is, for every region the library knows, its example number
// of every type, each also one digit longer, one digit shorter and with
// its last digit changed: valid and invalid numbers near every pattern of
// the metadata. International forms are read from nowhere ("ZZ"), national
// forms from their own region and from GB.
func phoneCorpus() []phoneSample {
	types := []phonenumbers.PhoneNumberType{phonenumbers.FIXED_LINE, phonenumbers.MOBILE, phonenumbers.TOLL_FREE,
		phonenumbers.PREMIUM_RATE, phonenumbers.SHARED_COST, phonenumbers.VOIP, phonenumbers.PERSONAL_NUMBER,
		phonenumbers.PAGER, phonenumbers.UAN, phonenumbers.VOICEMAIL}
	var regions []string
	for r := range phonenumbers.GetSupportedRegions() {
		regions = append(regions, r)
	}
	slices.Sort(regions)
	var out []phoneSample
	for _, r := range regions {
		for _, t := range types {
			n := phonenumbers.GetExampleNumberForType(r, t)
			if n == nil {
				continue
			}
			for _, f := range []phonenumbers.PhoneNumberFormat{phonenumbers.E164, phonenumbers.INTERNATIONAL, phonenumbers.NATIONAL} {
				s := phonenumbers.Format(n, f)
				last := s[len(s)-1]
				for _, v := range []string{s, s + "7", s[:len(s)-1], s[:len(s)-1] + string('0'+(last-'0'+5)%10)} {
					if f == phonenumbers.NATIONAL {
						out = append(out, phoneSample{v, r}, phoneSample{v, "GB"})
					} else {
						out = append(out, phoneSample{v, "ZZ"})
					}
				}
			}
		}
	}
	return out
}

// TestE164MatchesLibrary: E164 takes a shortcut past IsValidNumber, so it
// must give the library's answer (valid or not, and the same E.164 text)
// for numbers of every type in every region. The shortcut only ever says
// yes, so a wrong one would show here as a number E164 accepts and the
// library refuses.
func TestE164MatchesLibrary(t *testing.T) {
	if mainRegionRules(44) == nil || mainRegionRules(1) == nil || mainRegionRules(49) == nil {
		t.Fatal("no shortcut for +44, +1 or +49: the comparison below would not test it")
	}
	corpus := phoneCorpus()
	if testing.Short() {
		corpus = corpus[:len(corpus)/8]
	}
	for _, s := range []string{"020 7946 0123", "+44 7911 123456", "07400 123456", "020 3000 0001", "+44 (0)20 7946 0123",
		"0044 20 7946 0123", "+1 212 555 0100", "+1 264 497 1234", "+1 800 555 0100", "+800 1234 5678",
		"+882 1234 567890", "+979 1234 5678", "01481 123456", "07781 123456", "01624 123456", "07624 123456",
		"+44 1534 123456", "ext. 1234", "020 7946 0123 ext. 45", "tel:+44-20-7946-0123", "", "+", "0", "12"} {
		for _, region := range []string{"GB", "US", "ZZ", "", "gb"} {
			corpus = append(corpus, phoneSample{s, region})
		}
	}
	fast := 0
	for _, c := range corpus {
		got, gotOK := E164(c.s, c.region)
		want, wantOK := libraryE164(c.s, c.region)
		if got != want || gotOK != wantOK {
			t.Fatalf("E164(%q, %q) = %q, %v; the library says %q, %v", c.s, c.region, got, gotOK, want, wantOK)
		}
		if gotOK {
			n, _ := phonenumbers.Parse(c.s, strings.ToUpper(cmpOr(c.region, "ZZ")))
			if r := mainRegionRules(int(n.GetCountryCode())); r != nil && r.valid(phonenumbers.GetNationalSignificantNumber(n)) {
				fast++
			}
		}
	}
	if fast < len(corpus)/10 {
		t.Fatalf("only %d of %d numbers took the shortcut", fast, len(corpus))
	}
	t.Logf("%d numbers compared, %d valid ones by the shortcut", len(corpus), fast)
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// The cache gives E164's answers, keyed by value and region, and a value
// that lands in an occupied slot replaces the one there.
func TestRowCachePhones(t *testing.T) {
	rc := newRowCache()
	for round := range 2 {
		for i := range phoneSlots + phoneSlots/2 {
			s := fmt.Sprintf("020 3%03d %04d", i%1000, (i*7)%10000)
			if i%5 == 0 {
				s = fmt.Sprintf("not a phone %d", i)
			}
			region := []string{"GB", "US"}[i%2]
			got, gotOK := rc.e164(s, region)
			want, wantOK := E164(s, region)
			if got != want || gotOK != wantOK {
				t.Fatalf("round %d: cached E164(%q, %q) = %q, %v; want %q, %v", round, s, region, got, gotOK, want, wantOK)
			}
		}
	}
	for _, region := range []string{"GB", "US", "GB"} { // the region is part of the key
		got, gotOK := rc.e164("020 7946 0123", region)
		want, wantOK := E164("020 7946 0123", region)
		if got != want || gotOK != wantOK {
			t.Fatalf("cached E164(\"020 7946 0123\", %q) = %q, %v; want %q, %v", region, got, gotOK, want, wantOK)
		}
	}
	var none *rowCache
	if got, ok := none.e164("+44 20 7946 0123", ""); !ok || got != "+442079460123" {
		t.Fatalf("nil cache: %q, %v", got, ok)
	}
}

// A row validated with a worker's cache is the row validated without one,
// however many rows came before it.
func TestValidateUserWithCacheIsPure(t *testing.T) {
	rc := newRowCache()
	langs := []string{"en-GB", "fr_fr", "zz-ZZ-x-y", "not a tag", "EN-gb", ""}
	phones := []string{"020 7946 0123", "+44 7911 123456", "ext. 1234", "01481 123456", "+1 212 555 0100", ""}
	for i := range 3 * maxLangs {
		raw := goodRaw()
		raw.ID = ns(fmt.Sprint(i))
		raw.Language = ns(langs[i%len(langs)])
		if i > 2*maxLangs {
			raw.Language = ns(fmt.Sprintf("x-%d", i)) // beyond the cache's bound
		}
		raw.FirstName = ns(fmt.Sprintf(" Jose\u0301 %d ", i%7))
		raw.LastName = ns(strings.Repeat("x", i%40))
		raw.LocationID = ns(fmt.Sprint(i % 5))
		raw.Phone = ns(phones[i%len(phones)])
		raw.Mobile = ns(phones[(i/len(phones))%len(phones)])
		want := ValidateUser(raw, rules)
		got := validateUser(raw, rules, rc)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("row %d: with cache %+v, without %+v", i, got, want)
		}
	}
	if len(rc.langs) > maxLangs {
		t.Fatalf("language cache holds %d entries, bound %d", len(rc.langs), maxLangs)
	}
}

// Equal names and location ids of two rows, each read into its own
// allocation, come out of one export's validation as one shared string,
// even with a garbage collection between the rows (the unique package
// forgets a value whose handles are gone).
func TestValidatedNamesShared(t *testing.T) {
	var got [2]User
	rc := newRowCache()
	for i := range got {
		raw := goodRaw()
		raw.ID = ns(fmt.Sprint(i + 1))
		raw.FirstName = ns(strings.Clone("Siobhán"))
		raw.LastName = ns(strings.Clone("Ó Súilleabháin"))
		raw.LocationID = ns(strings.Clone("101"))
		got[i] = validateUser(raw, rules, rc).User
		runtime.GC()
	}
	for _, f := range []func(User) string{
		func(u User) string { return u.FirstName }, func(u User) string { return u.LastName },
		func(u User) string { return u.LocationID },
	} {
		a, b := f(got[0]), f(got[1])
		if a == "" || a != b || unsafe.StringData(a) != unsafe.StringData(b) {
			t.Fatalf("%q and %q are not one shared string", a, b)
		}
	}
}

// FuzzE164 compares E164 with the library on any input.
func FuzzE164(f *testing.F) {
	for _, s := range []string{"020 7946 0123", "+44 7911 123456", "07400 123456", "+1 212 555 0100", "01481 123456",
		"+800 1234 5678", "ext. 1234", "tel:+44-20-7946-0123;ext=12", "+44 20 7946 0123 x45", "０２０ ７９４６ ０１２３"} {
		f.Add(s, uint8(0))
	}
	regions := []string{"GB", "US", "DE", "IN", "ZZ", "", "gb", "XX"}
	f.Fuzz(func(t *testing.T, s string, r uint8) {
		region := regions[int(r)%len(regions)]
		got, gotOK := E164(s, region)
		want, wantOK := libraryE164(s, region)
		if got != want || gotOK != wantOK {
			t.Fatalf("E164(%q, %q) = %q, %v; the library says %q, %v", s, region, got, gotOK, want, wantOK)
		}
	})
}

// TestParsePlainMatchesLibrary: wherever parsePlain reads a number, it
// reads what phonenumbers.ParseToNumber does, field for field, for numbers
// of every type in every region, as the export sees them (national forms,
// +, 00, spaces and hyphens), and it reads most plain directory numbers.
func TestParsePlainMatchesLibrary(t *testing.T) {
	corpus := phoneCorpus()
	if testing.Short() {
		corpus = corpus[:len(corpus)/8]
	}
	var extra []phoneSample
	for _, c := range corpus {
		// The corpus in the shapes a directory writes: hyphens for
		// spaces, digits only.
		extra = append(extra, phoneSample{strings.ReplaceAll(c.s, " ", "-"), c.region},
			phoneSample{strings.NewReplacer(" ", "", "-", "", "(", "", ")", "").Replace(c.s), c.region})
	}
	corpus = append(corpus, extra...)
	for i := range 2000 { // as cmd/cvs-bench generates them
		corpus = append(corpus, phoneSample{fmt.Sprintf("020 3%03d %04d", (i*7)%1000, (i*13)%10000), "GB"},
			phoneSample{fmt.Sprintf("07400 %06d", i*37), "GB"}, phoneSample{fmt.Sprintf("+44 20 7946 %04d", i), "ZZ"})
	}
	for _, s := range []string{"0044 20 7946 0123", "44 20 7946 0123", "00 44 20 7946 0123", "+0 123 4567", "+999 123 4567",
		"+800 1234 5678", "+1 212 555 0100", "1 212 555 0100", "212 555 0100", "01", "0", "+4", "+44", "0 0 0 0", "+39 06 1234 5678",
		"06 1234 5678", "+54 9 11 1234 5678", "011 15 1234 5678", "- 020 7946 0123", "020 7946 0123 -"} {
		for _, region := range []string{"GB", "US", "IT", "AR", "ZZ"} {
			corpus = append(corpus, phoneSample{s, region})
		}
	}
	fast := 0
	for _, c := range corpus {
		region := strings.ToUpper(cmpOr(c.region, "ZZ"))
		var got phonenumbers.PhoneNumber
		if !parsePlain(c.s, region, &got) {
			continue
		}
		fast++
		var want phonenumbers.PhoneNumber
		if err := phonenumbers.ParseToNumber(c.s, region, &want); err != nil {
			t.Fatalf("parsePlain(%q, %q) read %v; the library says %v", c.s, region, &got, err)
		}
		if !proto.Equal(&got, &want) {
			t.Fatalf("parsePlain(%q, %q) = %v; the library reads %v", c.s, region, &got, &want)
		}
	}
	if fast < len(corpus)/4 {
		t.Fatalf("only %d of %d numbers read by parsePlain", fast, len(corpus))
	}
	t.Logf("%d numbers, %d read by parsePlain, all as the library reads them", len(corpus), fast)
}
