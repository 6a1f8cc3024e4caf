// Writes weburl.json: what Node's WHATWG URL parser (new URL(s), which zod's
// z.string().url() calls) makes of each input: ok, and the serialized hostname.
// Run once with node v20 from internal/catalog: node testdata/weburl-golden.mjs > testdata/weburl.json
// The Go test (TestParseWebURLGolden) needs no node.
const cases = [
  // issue 19's cases
  "https://999.1.1.1", "https://1.2.3.4.5", "https://256.256.256.256", "https://a<b.com", "https://xn--",
  "https://example.com\u3000", "https://[fe80::1%25eth0]", "http:example.com", "http:/x", "http:\\\\x",
  "http:///x", "https://ex%41mple.com", "https://example.com/%zz",
  // schemes
  "", "x", ":", "://a", "1http://a", "h://", "a+b-c.d:x", "a_b:x", "mailto:a@b", "javascript:alert(1)",
  "urn:isbn:123", "data:,x", "data:image/png;base64,iVBORw0K", "foo://", "foo://@", "foo://a@",
  "foo://:80", "foo://a:80", "foo://a:b", "foo://a b", "foo://a%zz", "foo://[::1]", "foo://[x]",
  "foo://ü", "foo:///x", "HTTPS://A.COM", "HtTp://a", "https:", "https:a", "https::a", "https:?x",
  // blanks and controls around and inside
  " https://a.com ", "\thttps://a.com", "https://a\n.com", "https://a\t.com", "https://a .com",
  "https://a.com/ x", "\u00a0https://a.com", "https://a.com\u00a0", "\u0000https://a.com\u001f",
  "https://a.com\u007f", "https://a\u007f.com",
  // authority
  "http://", "http://?", "http://#", "http://@a", "http://a@", "http://a@b@c", "http://u:p@h",
  "http://:80", "http://:", "http://a:", "http://a:0", "http://a:65535", "http://a:65536",
  "http://a:0000000080", "http://a:99999999999", "http://a:8a", "http://a:-1", "http://a: 80",
  "http://a:80:80", "http://\\\\a", "http:\\/a", "http://a\\b", "https:////a", "https:\\\\\\a/b",
  "http://a@:80", "http://@", "http://@/", "http://a@/", "ws://a", "wss:", "ftp://a:21",
  // IPv4
  "http://0x7f.1", "http://0x7f.0.0.1", "http://017.0.0.1", "http://08.0.0.1", "http://1.2.3.09",
  "http://4294967295", "http://4294967296", "http://0xffffffff", "http://0x100000000",
  "http://1.16777215", "http://1.16777216", "http://1.2.65535", "http://1.2.65536", "http://1.2.3.256",
  "http://1.2.3.4.", "http://1.2.3.4..", "http://.1.2.3", "http://1..2", "http://foo.09", "http://foo.0x",
  "http://foo.0x1g", "http://foo.1a", "http://0x", "http://0X1.0", "http://00", "http://0.0.0.0x100",
  "http://999999999999999999999", "http://0xffffffffffffffffffffffffffffff", "http://1.2.3.4.5.",
  "http://a.1", "http://1.a", "http://01.02.03.04", "http://0..0", "http://0x.0x.0x.0x", "http://0xg",
  "http://09", "http://0.09", "http://1.2.3.4%2e", "http://1%2e2.3.4", "http://%31.2.3.4",
  "http://\uff11.2.3.4", "http://1\u30022.3.4", "http://1.2.3.4\u3002", "http://0x7F.1", "http://1.0x",
  "http://1.0x.", "http://a.0x", "http://a.08", "http://a.0", "http://a.0.", "http://a.b.", "http://1.",
  "http://.", "http://..", "http://...", "http://a..b", "http://a.", "http://.a", "http://1.2.3.4.5.6",
  "http://0177.0.0.01", "http://0x0.0x0.0x0.0x100", "http://255.255.255.255", "http://255.255.255.256",
  // IPv6
  "http://[::]", "http://[::1]", "http://[1:2:3:4:5:6:7:8]", "http://[1:2:3:4:5:6:7:8:9]",
  "http://[1::2::3]", "http://[:1]", "http://[1:]", "http://[::ffff:1.2.3.4]", "http://[::1.2.3.4]",
  "http://[::1.2.3]", "http://[::1.2.3.4.5]", "http://[::01.2.3.4]", "http://[::1.2.3.256]",
  "http://[1:2:3:4:5:6:7::]", "http://[1:2:3:4:5:6::1.2.3.4]", "http://[1:2:3:4:5:6:7:1.2.3.4]",
  "http://[12345::]", "http://[::g]", "http://[", "http://[::1", "http://[::1]]", "http://[::1]:80",
  "http://[::1]x", "http://[0:0:1:0:0:0:0:0]", "http://[1:0:0:2:0:0:0:3]", "http://[::ffff:7f00:1]",
  "http://[]", "http://[:]", "http://[::1::]", "http://[1:2:3:4:5:6:7:8::]", "http://[::1:2:3:4:5:6:7]",
  "http://[::1:2:3:4:5:6:7:8]", "http://[1.2.3.4]", "http://[::%31]", "http://[ ::1]", "http://[::1 ]",
  "http://[0::0:0]", "http://[ABCD::EF]", "http://[::1.2.3.4x]", "http://[::1.]", "http://[::.1]",
  "http://[1:2:3:4:5:6:7:8:]", "http://a[::1]", "http://[::1]@a", "http://[::1]:", "http://[::1]:x",
  "foo://[::1]:80", "foo://[1:2]", "foo://[::1", "http://[0:0:0:0:0:0:13.1.68.3]",
  // percent-encoded hosts
  "http://%41.com", "http://a%2Fb", "http://a%3Ab", "http://a%25b", "http://a%20b", "http://a%00b",
  "http://a%7Fb", "http://a%5Eb", "http://a%7Cb", "http://a%40b", "http://a%5Bb", "http://a%23b",
  "http://a%3Cb", "http://%e2%82%ac.com", "http://%ff.com", "http://%C3%BC.com", "http://%C3%9C.com",
  "http://%zz", "http://a%", "http://a%2", "http://%2e", "http://%2e%2e", "http://a%09b", "http://a%0Ab",
  "http://%ef%bb%bfa.com", "http://a%2Eb", "http://%30x7f.1", "http://%",
  // IDNA
  "http://münchen.de", "http://MÜNCHEN.de", "http://xn--mnchen-3ya.de", "http://xn--mnchen-3ya.DE",
  "http://XN--MNCHEN-3YA.de", "http://xn--", "http://xn--a", "http://xn--abc-", "http://xn--a.xn--b",
  "http://xn--ls8h", "http://faß.de", "http://βόλος.com", "http://ab--cd.com", "http://-a.com",
  "http://a-.com", "http://ab--c.com", "http://xn--ab-", "http://\u200d.com", "http://a\u200db.com",
  "http://\u0301a.com", "http://a\u00ad.com", "http://\u00ad", "http://ＡＢＣ.com", "http://a。b",
  "http://a\u3000b", "http://\ufffd", "http://a\ufeffb.com", "http://עברית.com", "http://aעב.com",
  "http://1עב.com", "http://עב1.com", "http://ﷺ.com", "http://😀.com", "http://☕.com", "http://ß.com",
  "http://ς.com", "http://\u0080.com", "http://ｘｎ--abc", "http://I\u0307.com", "http://xn--zca.com",
  "http://xn--ss-.com", "http://xn--a-ecp.ru", "http://xn--0.com", "http://xn--aa", "http://xn--a-",
  "http://xn---", "http://xn--abc", "http://xn--bcher-kva.example", "http://bücher.example",
  "http://\u2163.com", "http://\u2488.com", "http://a\u2024b", "http://\u0660\u0661.com",
  "http://a\u200cb.com", "http://\u0628\u200c\u0628.com", "http://\u094d\u200c.com", "http://x\u0338.com",
  "http://\u00df\u0301.com", "http://\u1e9e.com", "http://\u03a3.com", "http://\u0130.com",
  "http://\u2f00.com", "http://\uff0e.com", "http://a\uff0eb", "http://\u3002", "http://a\u3002",
  "http://\u00a0.com", "http://a\u2028b", "http://\u180e.com", "http://\ud800.com", "http://\u0378.com",
  "http://\ue000.com", "http://a_b.com", "http://a~b.com", "http://a$b.com", "http://a*b.com",
  "http://a\"b.com", "http://a{b}.com", "http://a`b.com", "http://a'b.com", "http://a=b.com",
  "http://a;b.com", "http://a,b.com", "http://a!b.com", "http://a&b.com", "http://a(b).com",
  "http://a+b.com", "http://" + "a".repeat(64) + ".com", "http://" + "a.".repeat(200) + "com",
  "http://\u0627\u0661.com", "http://\u0627a.com", "http://a.\u0627", "http://\u05d0.\u0661",
  // file
  "file:", "file:x", "file:/x", "file://", "file:///x", "file://localhost/x", "file://LOCALHOST/x",
  "file://host/x", "file://c:/x", "file://c|/x", "file://a<b/x", "file://1.2.3.4.5/x", "file://[::1]/x",
  "file://a:80/x", "file:\\\\host\\x", "file://%41/x", "file://ab:/x", "file://c:", "file://1.2.3.4/x",
  "file://xn--/x", "file://a@b/x", "file://@/x", "file://?x", "file://#x", "FILE://H/x", "file:////x",
  "file://ü/x", "file://%/x",
  // paths, queries, fragments: nothing fails there
  "https://a.com/%zz", "https://a.com/ü", "https://a.com?%zz", "https://a.com#%", "https://a.com/\\x",
  "https://a.com/../..", "https://a.com/a b", "https://a.com/<>", "https://a.com?<>#<>", "https://a.com/\u0000",
  // not special
  "foo:bar", "foo:/bar", "foo://h:1/p", "foo://h%zz", "foo://h<", "foo://h^", "foo://h|", "foo://h%20",
  "foo://h\u007f", "foo://h\u0000", "foo://h#x", "foo://h?x", "foo://h\\x", "foo://ü.com", "foo://1.2.3.4.5",
  "foo://999.1.1.1", "foo://xn--", "foo://h:65536", "foo://h:x", "foo://u@h", "foo://u@", "foo://a@b@c",
  "sc://ñ", "sc://%/", "sc://@/", "sc://te@s:t@/", "sc://:/", "sc://:12/", "sc:\\../", "sc::a@example.net",
  "git+ssh://git@github.com:org/repo", "s3://bucket/key", "chrome-extension://abc/x",
];
// punycode labels
for (const h of ["xn--abc-", "xn--ABC-", "xn--a-b-", "xn--_-", "xn--~-", "xn---", "xn----", "xn--a--", "xn--xn--abc-",
  "xn--a-.com", "xn--1-", "xn--aa", "xn--0", "xn--a-ecp", "xn--Zca", "xn--mnchen-3yA", "xn--a-0", "xn--ab-cd", "xn--$-",
  "xn--%41-", "xn--a.xn--b-", "xn--a-b", "xn--ß-", "xn--tda", "xn--caf-dma", "xn--cafe-yvc", "xn--ea", "xn--80ak6aa92e",
  "xn--bcher-KVA", "xn--nxasmq6b", "xn--xn---", "a.xn--abc-.ü", "ü.xn--ABC-", "xn--abc-.עב", "xn--abc-\u3002b"]) {
  cases.push("http://" + h + "/");
}
// right-to-left text (CheckBidi): every two- and three-letter label of these classes
const bidi = { L: "a", R: "\u05d0", AL: "\u0627", AN: "\u0661", EN: "1", NSM: "\u0301", ON: "~", ET: "$" };
const bn = Object.keys(bidi);
for (const a of bn) for (const b of bn) for (const c of ["", ...bn]) {
  cases.push("http://" + bidi[a] + bidi[b] + (c ? bidi[c] : "") + ".com/");
}
cases.push("http://a.\u05d0\u0301", "http://\u05d0.a", "http://\u05d0.1", "http://1.\u05d0", "http://a1.\u0627\u0661");
// joiners (CheckJoiners): ZWNJ and ZWJ after a virama, between joining letters, alone
for (const h of ["\u0915\u094d\u200c\u0937", "\u0915\u094d\u200d\u0937", "\u0628\u200c\u0628", "\u0628\u200c",
  "\u200c\u0628", "a\u200cb", "a\u200db", "\u0628\u064e\u200c\u0628", "\u0627\u200c\u0628", "\u0628\u200c\u0627",
  "\u0915\u200d", "\u094d\u200d", "\u0915\u094d\u200c", "a\u094d\u200cb"]) {
  cases.push("http://" + h + ".com/");
}
// a fixed pseudo-random sample of short strings over a URL-ish alphabet
let seed = 19;
const rand = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
const alphabet = ["h", "t", "p", "s", "f", "i", "l", "e", ":", "/", "\\", "@", "[", "]", ".", "1", "0", "x", "%", "2", "5",
  "F", "a", "ü", "?", "#", " ", "-", "9", "ｆ", "。", ":", "//", "http://", "https://", "file://", "foo://", "[::", "0x"];
for (let i = 0; i < 600; i++) {
  let s = "";
  const n = 1 + rand(9);
  for (let k = 0; k < n; k++) s += alphabet[rand(alphabet.length)];
  cases.push(s);
}
// Every ASCII character (and a few others) inside a special host, a non-special host and a file host.
const extra = [];
for (let c = 0; c < 128; c++) extra.push(String.fromCharCode(c));
extra.push("\u00e9", "\u00a0", "\u3000", "\u200b", "\ufeff", "\u0301", "\u2000", "\uff05", "\uff0f", "\uff1a");
for (const ch of extra) {
  cases.push("http://a" + ch + "b.com/", "foo://a" + ch + "b/", "file://a" + ch + "b/", "http://" + ch + "/");
}
const out = [];
const seen = new Set();
for (const s of cases) {
  if (seen.has(s)) continue;
  seen.add(s);
  let ok = true, host = "";
  try { host = new URL(s).hostname; } catch { ok = false; }
  out.push({ in: s, ok, host });
}
process.stdout.write("[\n" + out.map((o) => JSON.stringify(o)).join(",\n") + "\n]\n");
