package piapi

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pi-cli/pi/internal/spell"
)

// configKeys are the keys of the config file, from fileConfig's tags.
func configKeys() []string {
	t := reflect.TypeOf(fileConfig{})
	keys := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		keys = append(keys, strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0])
	}
	return keys
}

// unknownConfigKeys warns of each top-level key of the config file that pi does not read
// (a typo such as api-key would otherwise show up as a 401 from the server), with the key
// it probably meant.
func unknownConfigKeys(path string, b []byte) []string {
	var raw map[string]any
	if yaml.Unmarshal(b, &raw) != nil {
		return nil
	}
	known := configKeys()
	var unknown []string
	for k := range raw {
		if !contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	var out []string
	for _, k := range unknown {
		msg := fmt.Sprintf("config %s: unknown key %q is ignored", path, k)
		if s := spell.Nearest(k, known); s != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", s)
		} else {
			msg += " (known keys: " + strings.Join(known, ", ") + ")"
		}
		out = append(out, msg)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
