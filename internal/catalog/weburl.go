package catalog

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/bidi"
	"golang.org/x/text/width"
)

// WebURL is what the WHATWG URL parser (`new URL(s)` in Node, so zod's z.string().url())
// makes of a string, as far as pi needs it: the scheme and the host it serializes.
type WebURL struct {
	Scheme string
	// Host is the serialized host ("example.com", "xn--bcher-kva.example", "127.0.0.1",
	// "[::1]", an opaque host as written); HasHost is false for a URL without one
	// ("mailto:a@b"), true for an empty host ("file:///x").
	Host    string
	HasHost bool
	Port    string
}

// ParseWebURL applies the WHATWG URL Standard's parser (https://url.spec.whatwg.org/, no
// base URL) to s and reports what it refuses, with why. It follows the standard's states
// where they can fail (scheme, authority, host, port) and skips those that cannot (path,
// query, fragment), so it accepts exactly what `new URL(s)` accepts: special-scheme slashes
// and backslashes, percent-decoded hosts, IPv4 in decimal, octal and hex with overflow
// checks, IPv6, forbidden code points, and IDNA (UTS #46, nontransitional, CheckBidi,
// CheckJoiners, no STD3 rules, no DNS length check) for other hosts.
func ParseWebURL(s string) (*WebURL, error) {
	s = strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
	if strings.ContainsAny(s, "\t\n\r") {
		s = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(s)
	}
	i := schemeEnd(s)
	if i < 0 {
		return nil, errors.New("no scheme (a URL starts with a scheme such as https:)")
	}
	u := &WebURL{Scheme: strings.ToLower(s[:i])}
	rest := s[i+1:]
	special := isSpecialScheme(u.Scheme)
	switch {
	case u.Scheme == "file":
		return u, u.fileHost(rest)
	case special:
		// The special authority slashes states: any number of / and \ (even none).
		return u, u.authority(strings.TrimLeft(rest, `/\`), true)
	case strings.HasPrefix(rest, "//"):
		return u, u.authority(rest[2:], false)
	}
	return u, nil // a path or an opaque path: nothing there can fail
}

// schemeEnd returns the index of the colon that ends s's scheme, or -1 when s does not
// start with one (an ASCII letter, then letters, digits, +, - and .).
func schemeEnd(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isASCIIAlpha(c):
		case i > 0 && (isASCIIDigit(c) || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return i
		default:
			return -1
		}
	}
	return -1
}

func isSpecialScheme(s string) bool {
	switch s {
	case "ftp", "file", "http", "https", "ws", "wss":
		return true
	}
	return false
}

func isASCIIAlpha(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }
func isASCIIDigit(c byte) bool { return '0' <= c && c <= '9' }
func isASCIIHex(c byte) bool   { return isASCIIDigit(c) || 'a' <= c|0x20 && c|0x20 <= 'f' }

// authority runs the authority, host and port states on what follows the slashes.
func (u *WebURL) authority(s string, special bool) error {
	end := strings.IndexAny(s, "/?#")
	if special {
		end = strings.IndexAny(s, `/?#\`)
	}
	if end >= 0 {
		s = s[:end]
	}
	if at := strings.LastIndexByte(s, '@'); at >= 0 {
		// What precedes the last @ is credentials, which cannot fail.
		if s = s[at+1:]; s == "" {
			return errors.New("no host after the credentials")
		}
	}
	host, port, hasPort := s, "", false
	inBrackets := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			inBrackets = true
		case ']':
			inBrackets = false
		case ':':
			if !inBrackets {
				host, port, hasPort = s[:i], s[i+1:], true
				i = len(s)
			}
		}
	}
	if hasPort && host == "" {
		return errors.New("no host before the port")
	}
	if host == "" {
		if special {
			return errors.New("no host")
		}
		u.HasHost = true
		return nil
	}
	h, err := parseHost(host, !special)
	if err != nil {
		return err
	}
	u.Host, u.HasHost = h, true
	for i := 0; i < len(port); i++ {
		if !isASCIIDigit(port[i]) {
			return fmt.Errorf("port %q is not a number", port)
		}
	}
	if p := strings.TrimLeft(port, "0"); len(p) > 5 || len(p) == 5 && p > "65535" {
		return fmt.Errorf("port %s is over 65535", port)
	}
	u.Port = port
	return nil
}

// fileHost runs the file states: a host only after two slashes, and not for a Windows
// drive letter (file://c:/x).
func (u *WebURL) fileHost(s string) error {
	if len(s) < 2 || !strings.ContainsRune(`/\`, rune(s[0])) || !strings.ContainsRune(`/\`, rune(s[1])) {
		return nil
	}
	s = s[2:]
	u.HasHost = true
	if end := strings.IndexAny(s, `/\?#`); end >= 0 {
		s = s[:end]
	}
	if s == "" || len(s) == 2 && isASCIIAlpha(s[0]) && (s[1] == ':' || s[1] == '|') {
		return nil
	}
	h, err := parseHost(s, false)
	if err != nil {
		return err
	}
	if h == "localhost" {
		h = ""
	}
	u.Host = h
	return nil
}

// parseHost is the host parser: an IPv6 address in brackets, an opaque host (schemes
// that are not special), else a domain that may be an IPv4 address.
func parseHost(s string, opaque bool) (string, error) {
	if s[0] == '[' {
		if s[len(s)-1] != ']' {
			return "", errors.New("an IPv6 host needs its closing ]")
		}
		addr, err := parseIPv6(s[1 : len(s)-1])
		if err != nil {
			return "", err
		}
		return "[" + serializeIPv6(addr) + "]", nil
	}
	if opaque {
		if i := strings.IndexFunc(s, isForbiddenHostCodePoint); i >= 0 {
			return "", fmt.Errorf("the host has a character a host cannot contain: %q", s[i:i+1])
		}
		return percentEncodeC0(s), nil
	}
	domain := strings.ToValidUTF8(percentDecode(s), "\uFFFD")
	ascii, err := domainToASCII(domain)
	if err != nil {
		return "", err
	}
	if endsInNumber(ascii) {
		v4, err := parseIPv4(ascii)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%d.%d.%d.%d", v4>>24, v4>>16&0xff, v4>>8&0xff, v4&0xff), nil
	}
	return ascii, nil
}

func isForbiddenHostCodePoint(r rune) bool {
	switch r {
	case 0, '\t', '\n', '\r', ' ', '#', '/', ':', '<', '>', '?', '@', '[', '\\', ']', '^', '|':
		return true
	}
	return false
}

func isForbiddenDomainCodePoint(r rune) bool {
	return isForbiddenHostCodePoint(r) || r <= 0x1f || r == '%' || r == 0x7f
}

func percentDecode(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isASCIIHex(s[i+1]) && isASCIIHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return string(b)
}

func unhex(c byte) byte {
	if isASCIIDigit(c) {
		return c - '0'
	}
	return c | 0x20 - 'a' + 10
}

// percentEncodeC0 serializes an opaque host: controls and non-ASCII percent-encoded.
func percentEncodeC0(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// webIDNA is UTS #46 as domain to ASCII runs it: CheckHyphens false, CheckJoiners true,
// UseSTD3ASCIIRules false, nontransitional, no DNS length check. CheckBidi is bidiLabel.
// It is built on first use: most runs of pi parse no URL host that is not ASCII.
func webIDNA() *idna.Profile {
	webIDNAOnce.Do(func() {
		webIDNAProfile = idna.New(idna.MapForLookup(), idna.StrictDomainName(false), idna.CheckHyphens(false),
			idna.CheckJoiners(true), idna.Transitional(false), idna.VerifyDNSLength(false))
	})
	return webIDNAProfile
}

var (
	webIDNAOnce    sync.Once
	webIDNAProfile *idna.Profile
)

// domainToASCII is the standard's "domain to ASCII" with beStrict false.
func domainToASCII(domain string) (string, error) {
	var ascii string
	if isPlainASCIIDomain(domain) {
		// The standard's fast path: UTS #46 only lowercases such a domain.
		ascii = strings.ToLower(domain)
	} else {
		var err error
		if ascii, err = idnaToASCII(domain); err != nil {
			return "", err
		}
	}
	if ascii == "" {
		return "", fmt.Errorf("the host %q is empty once mapped", domain)
	}
	if i := strings.IndexFunc(ascii, isForbiddenDomainCodePoint); i >= 0 {
		r, _ := utf8.DecodeRuneInString(ascii[i:])
		return "", fmt.Errorf("the host has a character a host cannot contain: %q", r)
	}
	return ascii, nil
}

// idnaToASCII runs UTS #46 ToASCII (webIDNA, then bidiLabel) on a domain that is not plain
// ASCII. Node takes an xn-- label whose punycode has only its ASCII part ("xn--abc-",
// which decodes to "abc"), which x/net/idna refuses since Unicode 16: such labels stand
// aside while x/net/idna maps the others, and come back lowercased.
func idnaToASCII(domain string) (string, error) {
	bad := fmt.Errorf("the host %q is not a valid internationalized domain name", domain)
	labels := splitLabels(domain)
	// Punycode is quadratic in a label's length: long labels and hosts are refused before
	// they are tried.
	total := 0
	for _, l := range labels {
		if isASCIIOnly(l) {
			continue
		}
		n := utf8.RuneCountInString(l)
		if n > maxIDNALabel {
			return "", longLabelError(n)
		}
		if total += n; total > maxIDNAHost {
			return "", fmt.Errorf("the host's internationalized labels have over %d characters, more than pi checks (DNS allows 253 for a whole host)", maxIDNAHost)
		}
	}
	var aside map[int]string
	for i, l := range labels {
		folded := strings.ToLower(width.Fold.String(l))
		if !strings.HasPrefix(folded, "xn--") {
			continue
		}
		if !isASCIIOnly(folded) {
			return "", bad // UTS #46: an xn-- label must be ASCII
		}
		if asciiPunycode(folded) {
			if aside == nil {
				aside = map[int]string{}
			}
			aside[i], labels[i] = folded, "a"
		}
	}
	mapped := strings.Join(labels, ".")
	ascii, err := webIDNA().ToASCII(mapped)
	if err != nil {
		return "", bad
	}
	unicode, _ := webIDNA().ToUnicode(mapped)
	for label := range strings.SplitSeq(unicode, ".") {
		if n := utf8.RuneCountInString(label); n > maxIDNALabel && !isASCIIOnly(label) {
			return "", longLabelError(n)
		}
		if !bidiLabel(label) {
			return "", fmt.Errorf("the host %q mixes right-to-left and left-to-right text in a way IDNA refuses", domain)
		}
	}
	if aside == nil {
		return ascii, nil
	}
	out := strings.Split(ascii, ".")
	if len(out) != len(labels) {
		return "", bad
	}
	for i, l := range aside {
		out[i] = l
	}
	return strings.Join(out, "."), nil
}

// maxIDNALabel is the longest label, in characters once mapped, that pi encodes as
// punycode: x/net/idna decodes no longer one, so a longer host would not parse again from
// its own serialization. Node has no such limit; DNS's is 63.
const maxIDNALabel = 1024

// maxIDNAHost bounds the characters of a host's labels that are not ASCII, as written, so
// that checking a host costs milliseconds.
const maxIDNAHost = 4096

func longLabelError(n int) error {
	return fmt.Errorf("a label of the host has %d characters; pi checks internationalized labels of at most %d (DNS allows 63)", n, maxIDNALabel)
}

// asciiPunycode reports whether an ASCII label is xn-- then something ending in "-":
// punycode with an ASCII part only.
func asciiPunycode(label string) bool {
	return len(label) >= 6 && strings.HasPrefix(label, "xn--") && label[len(label)-1] == '-'
}

// splitLabels splits a domain at the characters UTS #46 maps to a full stop.
func splitLabels(domain string) []string {
	var labels []string
	start := 0
	for i, r := range domain {
		if r == '.' || r == '\u3002' || r == '\uff0e' || r == '\uff61' {
			labels = append(labels, domain[start:i])
			start = i + utf8.RuneLen(r)
		}
	}
	return append(labels, domain[start:])
}

// isPlainASCIIDomain: ASCII, and no label starts with xn-- (which must be valid punycode).
func isPlainASCIIDomain(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	for label := range strings.SplitSeq(s, ".") {
		if len(label) >= 4 && strings.EqualFold(label[:4], "xn--") {
			return false
		}
	}
	return true
}

// endsInNumber reports whether a domain's last label (before an optional final dot) is a
// number, which makes the whole host an IPv4 address (or a failure).
func endsInNumber(s string) bool {
	parts := strings.Split(s, ".")
	if parts[len(parts)-1] == "" {
		if len(parts) == 1 {
			return false
		}
		parts = parts[:len(parts)-1]
	}
	last := parts[len(parts)-1]
	if last != "" && strings.Trim(last, "0123456789") == "" {
		return true
	}
	_, ok := parseIPv4Number(last)
	return ok
}

// parseIPv4 is the IPv4 parser: 1 to 4 numbers (decimal, 0-octal or 0x-hex), all but the
// last under 256, the last filling the remaining bytes.
func parseIPv4(s string) (uint32, error) {
	parts := strings.Split(s, ".")
	if parts[len(parts)-1] == "" && len(parts) > 1 {
		parts = parts[:len(parts)-1]
	}
	if len(parts) > 4 {
		return 0, fmt.Errorf("the IPv4 host %q has more than 4 parts", s)
	}
	var v uint64
	for i, p := range parts {
		n, ok := parseIPv4Number(p)
		if !ok {
			return 0, fmt.Errorf("the IPv4 host %q has a part that is not a number: %q", s, p)
		}
		if i < len(parts)-1 {
			if n > 255 {
				return 0, fmt.Errorf("the IPv4 host %q has a part over 255: %s", s, p)
			}
			v = v<<8 | n
			continue
		}
		if n >= 1<<(8*(5-len(parts))) {
			return 0, fmt.Errorf("the IPv4 host %q is out of range", s)
		}
		v = v<<(8*(5-len(parts))) | n
	}
	return uint32(v), nil
}

// parseIPv4Number reads one part of an IPv4 address; values past 2^40 saturate (they are
// out of range anyway).
func parseIPv4Number(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	radix := uint64(10)
	switch {
	case len(s) >= 2 && (s[:2] == "0x" || s[:2] == "0X"):
		s, radix = s[2:], 16
	case len(s) >= 2 && s[0] == '0':
		s, radix = s[1:], 8
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d uint64
		switch {
		case isASCIIDigit(c):
			d = uint64(c - '0')
		case radix == 16 && isASCIIHex(c):
			d = uint64(c|0x20-'a') + 10
		default:
			return 0, false
		}
		if d >= radix {
			return 0, false
		}
		n = min(n*radix+d, 1<<40)
	}
	return n, true
}

// parseIPv6 is the IPv6 parser (the text between the brackets).
func parseIPv6(s string) ([8]uint16, error) {
	var addr [8]uint16
	bad := func(why string) ([8]uint16, error) {
		return addr, fmt.Errorf("the IPv6 host [%s] is not valid: %s", s, why)
	}
	piece, compress, p := 0, -1, 0
	at := func(i int) byte {
		if i < len(s) {
			return s[i]
		}
		return 0
	}
	if at(0) == ':' {
		if at(1) != ':' {
			return bad("it starts with a single colon")
		}
		p, piece, compress = 2, 1, 1
	}
	for p < len(s) {
		if piece == 8 {
			return bad("more than 8 pieces")
		}
		if s[p] == ':' {
			if compress >= 0 {
				return bad("more than one ::")
			}
			p++
			piece++
			compress = piece
			continue
		}
		value, length := 0, 0
		for length < 4 && p < len(s) && isASCIIHex(s[p]) {
			value = value*16 + int(unhex(s[p]))
			p++
			length++
		}
		if at(p) == '.' {
			if length == 0 {
				return bad("an IPv4 part without digits")
			}
			p -= length
			if piece > 6 {
				return bad("an IPv4 part too late")
			}
			if err := ipv4InIPv6(s, p, &addr, &piece); err != nil {
				return bad(err.Error())
			}
			break
		}
		if at(p) == ':' {
			p++
			if p == len(s) {
				return bad("it ends with a single colon")
			}
		} else if p < len(s) {
			return bad(fmt.Sprintf("unexpected %q", s[p:p+1]))
		}
		addr[piece] = uint16(value)
		piece++
	}
	if compress >= 0 {
		swaps := piece - compress
		piece = 7
		for piece != 0 && swaps > 0 {
			addr[piece], addr[compress+swaps-1] = addr[compress+swaps-1], addr[piece]
			piece--
			swaps--
		}
	} else if piece != 8 {
		return bad("fewer than 8 pieces and no ::")
	}
	return addr, nil
}

// ipv4InIPv6 reads the dotted IPv4 tail of an IPv6 address into two pieces.
func ipv4InIPv6(s string, p int, addr *[8]uint16, piece *int) error {
	seen := 0
	for p < len(s) {
		if seen > 0 {
			if s[p] != '.' || seen >= 4 {
				return errors.New("a bad IPv4 part")
			}
			p++
		}
		if p >= len(s) || !isASCIIDigit(s[p]) {
			return errors.New("an IPv4 part without digits")
		}
		v := -1
		for p < len(s) && isASCIIDigit(s[p]) {
			n := int(s[p] - '0')
			switch v {
			case -1:
				v = n
			case 0:
				return errors.New("an IPv4 number with a leading 0")
			default:
				v = v*10 + n
			}
			if v > 255 {
				return errors.New("an IPv4 number over 255")
			}
			p++
		}
		addr[*piece] = addr[*piece]<<8 | uint16(v)
		seen++
		if seen == 2 || seen == 4 {
			*piece++
		}
	}
	if seen != 4 {
		return errors.New("an IPv4 part with fewer than 4 numbers")
	}
	return nil
}

// serializeIPv6 writes an address as the standard does: lowercase hex, the first longest
// run of two or more zero pieces as ::.
func serializeIPv6(addr [8]uint16) string {
	start, length := -1, 1
	for i := 0; i < 8; {
		if addr[i] != 0 {
			i++
			continue
		}
		j := i
		for j < 8 && addr[j] == 0 {
			j++
		}
		if j-i > length {
			start, length = i, j-i
		}
		i = j
	}
	var b strings.Builder
	for i := 0; i < 8; i++ {
		if i == start {
			if i == 0 {
				b.WriteString("::")
			} else {
				b.WriteString(":")
			}
			i += length - 1
			continue
		}
		fmt.Fprintf(&b, "%x", addr[i])
		if i < 7 {
			b.WriteByte(':')
		}
	}
	return b.String()
}

// bidiLabel is CheckBidi (RFC 5893's rule) as Node's URL parser applies it: only to a label
// with right-to-left characters (R, AL or AN), as a left-to-right label when it starts
// with an L character, else as a right-to-left one (whatever its first character).
func bidiLabel(label string) bool {
	classes := make([]bidi.Class, 0, len(label))
	rtl := false
	for _, r := range label {
		p, _ := bidi.LookupRune(r)
		c := p.Class()
		classes = append(classes, c)
		rtl = rtl || c == bidi.R || c == bidi.AL || c == bidi.AN
	}
	if !rtl {
		return true
	}
	last := len(classes) - 1
	for last >= 0 && classes[last] == bidi.NSM {
		last--
	}
	if last < 0 {
		return false
	}
	allowed := func(c bidi.Class, set ...bidi.Class) bool { return slices.Contains(set, c) }
	if classes[0] == bidi.L {
		// Node (Ada 2.9) checks a left-to-right label's characters but its last one.
		for _, c := range classes[:last] {
			if !allowed(c, bidi.L, bidi.EN, bidi.ES, bidi.CS, bidi.ET, bidi.ON, bidi.BN, bidi.NSM) {
				return false
			}
		}
		return true
	}
	hasAN, hasEN := false, false
	for _, c := range classes[:last+1] {
		hasAN, hasEN = hasAN || c == bidi.AN, hasEN || c == bidi.EN
		if hasAN && hasEN || !allowed(c, bidi.R, bidi.AL, bidi.AN, bidi.EN, bidi.ES, bidi.CS, bidi.ET, bidi.ON, bidi.BN, bidi.NSM) {
			return false
		}
	}
	return allowed(classes[last], bidi.R, bidi.AL, bidi.AN, bidi.EN)
}

func isASCIIOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
