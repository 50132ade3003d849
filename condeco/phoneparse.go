package condeco

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
	"google.golang.org/protobuf/proto"
)

// parsePlain is phonenumbers.ParseToNumber for the numbers a directory
// holds: ASCII digits with spaces or hyphens, perhaps a leading '+'. On
// them the library spends half its time on its extension pattern, a
// long case-folded regexp tried at every position, which cannot match:
// each of its alternatives needs a letter, '#', '~', ',' or ';'. parsePlain
// runs the library's remaining steps on the same metadata, in its order,
// and reports false whenever a step would take a turn it does not follow
// (an error, an IDD prefix, a number that starts with the region's own
// country code, a national prefix transform rule, a non-geographic code),
// so that the caller asks the library. TestParsePlainMatchesLibrary and
// FuzzE164 compare the two.
func parsePlain(s, region string, n *phonenumbers.PhoneNumber) bool {
	if len(s) < 2 || len(s) > 250 || !plainNumber(s) {
		return false
	}
	plus := s[0] == '+'
	digits := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= '0' && c <= '9' {
			digits = append(digits, c)
		}
	}
	if len(digits) < 3 { // isViablePhoneNumber wants three digits, or exactly two
		return false
	}
	home := regionParsing(region)
	if home == nil && !plus {
		return false // the library refuses a number without region or '+'
	}
	var cc int
	var md *parseRules
	var nsn string
	if plus {
		// maybeStripInternationalPrefixAndNormalize, then extractCountryCode.
		if len(digits) <= 2 || digits[0] == '0' {
			return false
		}
		for i := 1; i <= 3 && i <= len(digits); i++ {
			c, _ := strconv.Atoi(string(digits[:i]))
			if len(phonenumbers.GetRegionCodesForCountryCode(c)) > 0 {
				cc, nsn = c, string(digits[i:])
				break
			}
		}
		if cc == 0 {
			return false
		}
		md = home
		if r := phonenumbers.GetRegionCodeForCountryCode(cc); r != region {
			md = regionParsing(r) // nil for a non-geographic code: the library's way
		}
		if md == nil {
			return false
		}
	} else {
		md, nsn = home, string(digits)
		if m := md.idd.FindStringIndex(nsn); m != nil && m[0] == 0 {
			return false // an IDD (00 in GB) where parsePrefixAsIdd acts on it
		}
		if strings.HasPrefix(nsn, md.ccString) {
			return false // the default region's own code without '+'
		}
		cc = md.cc
	}
	if len(nsn) < 2 {
		return false
	}
	stripped, ok := md.stripNationalPrefix(nsn)
	if !ok {
		return false
	}
	switch md.lengthResult(stripped) {
	case phonenumbers.TOO_SHORT, phonenumbers.IS_POSSIBLE_LOCAL_ONLY, phonenumbers.INVALID_LENGTH:
	default:
		nsn = stripped
	}
	if len(nsn) < 2 || len(nsn) > 17 {
		return false
	}
	v, err := strconv.ParseUint(nsn, 10, 64)
	if err != nil {
		return false
	}
	n.Reset()
	n.CountryCode = proto.Int32(int32(cc))
	if nsn[0] == '0' { // setItalianLeadingZerosForPhoneNumber
		n.ItalianLeadingZero = proto.Bool(true)
		zeros := 1
		for zeros < len(nsn)-1 && nsn[zeros] == '0' {
			zeros++
		}
		if zeros != 1 {
			n.NumberOfLeadingZeros = proto.Int32(int32(zeros))
		}
	}
	n.NationalNumber = proto.Uint64(v)
	return true
}

// plainNumber: an optional '+', then digits, spaces and hyphens, ending
// in a digit.
func plainNumber(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
		case c == '+' && i == 0:
		case (c == ' ' || c == '-') && i > 0:
		default:
			return false
		}
	}
	c := s[len(s)-1]
	return c >= '0' && c <= '9'
}

// parseRules is what parsing needs of one region's metadata, compiled
// once (the library compiles and caches the same patterns).
type parseRules struct {
	cc         int
	ccString   string
	idd        *regexp.Regexp // international prefix, unanchored as parsePrefixAsIdd uses it
	prefix     *regexp.Regexp // ^(?:national prefix for parsing), nil if none
	general    *regexp.Regexp // ^(?:general national number pattern)$
	transform  bool           // a national prefix transform rule exists
	lengths    []int32        // general possible lengths
	localOnly  []int32
	noLengths  bool // possible lengths start with -1
	prefixGrps int
}

// stripNationalPrefix is maybeStripNationalPrefixAndCarrierCode: the
// number without its national prefix, or itself when the library leaves
// it. ok is false where the library would transform the number instead.
func (r *parseRules) stripNationalPrefix(nsn string) (string, bool) {
	if r.prefix == nil {
		return nsn, true
	}
	groups := r.prefix.FindStringSubmatchIndex(nsn)
	switch {
	case groups == nil:
		return nsn, true
	case r.transform && groups[r.prefixGrps*2] >= 0:
		return "", false
	case r.general.MatchString(nsn) && !r.general.MatchString(nsn[groups[1]:]):
		return nsn, true // stripping would make a viable number unviable
	}
	return nsn[groups[1]:], true
}

// lengthResult is testNumberLength(nsn, metadata, UNKNOWN).
func (r *parseRules) lengthResult(nsn string) phonenumbers.ValidationResult {
	if r.noLengths {
		return phonenumbers.INVALID_LENGTH
	}
	n := int32(len(nsn))
	for _, l := range r.localOnly {
		if l == n {
			return phonenumbers.IS_POSSIBLE_LOCAL_ONLY
		}
	}
	switch {
	case r.lengths[0] == n:
		return phonenumbers.IS_POSSIBLE
	case r.lengths[0] > n:
		return phonenumbers.TOO_SHORT
	case r.lengths[len(r.lengths)-1] < n:
		return phonenumbers.TOO_LONG
	}
	for _, l := range r.lengths[1:] {
		if l == n {
			return phonenumbers.IS_POSSIBLE
		}
	}
	return phonenumbers.INVALID_LENGTH
}

// parseByRegion holds each region's parsing rules; nil: no fast path.
var parseByRegion = newMemo(compileParsing)

// regionParsing returns the parsing rules of a supported region, or nil.
func regionParsing(region string) *parseRules { return parseByRegion.get(region) }

func compileParsing(region string) *parseRules {
	md := geoMetadata()[region]
	if md == nil || !phonenumbers.GetSupportedRegions()[region] || md.GetGeneralDesc() == nil {
		return nil
	}
	gd := md.GetGeneralDesc()
	r := &parseRules{cc: int(md.GetCountryCode()), transform: md.GetNationalPrefixTransformRule() != "",
		lengths: gd.PossibleLength, localOnly: gd.PossibleLengthLocalOnly}
	r.ccString = strconv.Itoa(r.cc)
	if len(r.lengths) == 0 {
		return nil
	}
	r.noLengths = r.lengths[0] == -1
	var err error
	idd := md.GetInternationalPrefix()
	if idd == "" {
		idd = "NonMatch"
	}
	if r.idd, err = regexp.Compile(idd); err != nil {
		return nil
	}
	if r.general, err = regexp.Compile("^(?:" + gd.GetNationalNumberPattern() + ")$"); err != nil {
		return nil
	}
	if p := md.GetNationalPrefixForParsing(); p != "" {
		if r.prefix, err = regexp.Compile("^(?:" + p + ")"); err != nil {
			return nil
		}
		r.prefixGrps = r.prefix.NumSubexp()
	}
	return r
}
