package condeco

import (
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// E164 normalises a phone number, reading numbers without a country code
// as belonging to region. It reports false when the number is not valid.
// Its answer is libphonenumber's (Parse, IsValidNumber, Format E164);
// parsePlain and validNumber only reach it faster.
//
// Reading a number is the source's business, not the target's: how a
// directory writes its numbers ("020 7946 0123") and which country a
// number without a country code belongs to (phone_region) are facts about
// Condeco. What Visitor accepts is visitor.IsE164, which the reader checks
// on E164's answer.
func E164(s, region string) (string, bool) {
	if region == "" {
		region = "ZZ"
	}
	region = strings.ToUpper(region)
	n := &phonenumbers.PhoneNumber{}
	if !parsePlain(s, region, n) {
		if err := phonenumbers.ParseToNumber(s, region, n); err != nil {
			return "", false
		}
	}
	if !validNumber(n) {
		return "", false
	}
	return phonenumbers.Format(n, phonenumbers.E164), true
}

// validNumber is phonenumbers.IsValidNumber(n). The library's check costs
// about half of a phone number's ~20 µs and nine tenths of its memory:
// for each of some ten number types it builds a long pattern string and
// looks its compiled regexp up in a map, twice, matches the same regexp
// twice, and for a country code shared by several regions (+44: GB, GG,
// IM, JE; +1) it does all of that twice, once to pick the region and once
// to validate for it. For the main region of the country code, when it
// claims numbers without leading-digit patterns (GB, US, FR, DE...), this
// runs the same rules on the same metadata with each regexp compiled once
// and matched once, and says yes only when the library would. Anything
// else, including every "no", is asked of the library, so a number it
// calls invalid is still refused and anything unusual takes its path.
// TestValidNumberMatchesLibrary and FuzzE164 compare the two.
func validNumber(n *phonenumbers.PhoneNumber) bool {
	if r := mainRegionRules(int(n.GetCountryCode())); r != nil &&
		r.valid(phonenumbers.GetNationalSignificantNumber(n)) {
		return true
	}
	return phonenumbers.IsValidNumber(n)
}

// typeRules are one region's number-type patterns, compiled once.
type typeRules struct {
	general numberDesc
	// kinds are the types any of which makes a number valid: in the
	// library's getNumberTypeHelper every type but UNKNOWN. Mobile is only
	// among them when its pattern differs from fixed line's (if they are
	// the same the library never checks mobile on its own).
	kinds []numberDesc
}

// numberDesc is the library's isNumberMatchingDesc for one number type:
// the length must be one of lengths (when any are listed) and the whole
// national significant number must match the pattern.
type numberDesc struct {
	lengths []int32
	re      *regexp.Regexp
}

func (d numberDesc) match(nsn string) bool {
	if len(d.lengths) > 0 && !slices.Contains(d.lengths, int32(len(nsn))) {
		return false
	}
	return d.re.MatchString(nsn)
}

// valid is getNumberTypeHelper(nsn, metadata) != UNKNOWN.
func (r *typeRules) valid(nsn string) bool {
	if !r.general.match(nsn) {
		return false
	}
	for _, d := range r.kinds {
		if d.match(nsn) {
			return true
		}
	}
	return false
}

var (
	rulesByCode = newMemo(compileRules) // nil: no shortcut for this country code

	// geoMetadata is the library's own region -> metadata table
	// (newMetadataContainer builds it the same way from the same
	// collection), which it does not export.
	geoMetadata = sync.OnceValue(func() map[string]*phonenumbers.PhoneMetadata {
		m := map[string]*phonenumbers.PhoneMetadata{}
		coll, err := phonenumbers.MetadataCollection()
		if err != nil {
			return m // no shortcuts; the library decides everything
		}
		for _, md := range coll.GetMetadata() {
			if id := md.GetId(); id != "001" {
				m[id] = md
			}
		}
		return m
	})
)

// mainRegionRules returns the compiled rules of the region that
// IsValidNumber would test a number of this country code against when the
// number is valid there, or nil when there is no such shortcut.
func mainRegionRules(cc int) *typeRules { return rulesByCode.get(cc) }

// memo remembers what build gives for each key, nil answers included,
// for every goroutine: patterns compiled once for the whole process.
type memo[K comparable, V any] struct {
	mu    sync.RWMutex
	m     map[K]V
	build func(K) V
}

func newMemo[K comparable, V any](build func(K) V) *memo[K, V] {
	return &memo[K, V]{m: map[K]V{}, build: build}
}

func (c *memo[K, V]) get(k K) V {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return v
	}
	v = c.build(k)
	c.mu.Lock()
	c.m[k] = v
	c.mu.Unlock()
	return v
}

// compileRules mirrors the library's choice of region. GetRegionCodeForNumber
// takes the only region of a country code, or the first one whose leading
// digits match or, having none, for which the number is of a known type.
// For the first region with no leading digits, a number of a known type
// there makes that the region, and IsValidNumberForRegion then asks the
// same question again: the answer is yes. The conditions below are those
// of getMetadataForRegion and IsValidNumberForRegion for that region.
func compileRules(cc int) *typeRules {
	regions := phonenumbers.GetRegionCodesForCountryCode(cc)
	if len(regions) == 0 {
		return nil
	}
	region := regions[0]
	md := geoMetadata()[region]
	if md == nil || !phonenumbers.GetSupportedRegions()[region] || int(md.GetCountryCode()) != cc ||
		(len(regions) > 1 && md.GetLeadingDigits() != "") {
		return nil
	}
	descs := []*phonenumbers.PhoneNumberDesc{
		// Most numbers are one of these two: try them first. The order
		// does not change the answer, only how soon it comes.
		md.GetFixedLine(), md.GetMobile(),
		md.GetPremiumRate(), md.GetTollFree(), md.GetSharedCost(), md.GetVoip(),
		md.GetPersonalNumber(), md.GetPager(), md.GetUan(), md.GetVoicemail(),
	}
	if md.GetSameMobileAndFixedLinePattern() {
		descs = slices.Delete(descs, 1, 2)
	}
	general, ok := compileDesc(md.GetGeneralDesc())
	if !ok {
		return nil
	}
	r := &typeRules{general: general}
	for _, d := range descs {
		c, ok := compileDesc(d)
		if !ok {
			return nil
		}
		r.kinds = append(r.kinds, c)
	}
	return r
}

// compileDesc compiles a pattern exactly as the library's
// isNumberMatchingDesc does. A missing description (the library would
// fail on it) or a pattern that does not compile leaves the country code
// to the library.
func compileDesc(d *phonenumbers.PhoneNumberDesc) (numberDesc, bool) {
	if d == nil {
		return numberDesc{}, false
	}
	re, err := regexp.Compile("^(?:" + d.GetNationalNumberPattern() + ")$")
	if err != nil {
		return numberDesc{}, false
	}
	return numberDesc{lengths: slices.Clone(d.PossibleLength), re: re}, true
}
