package main

import (
	"encoding/json"
	"os"
	"regexp"
	"regexp/syntax"
)

type in struct {
	Regexes []string `json:"regexes"`
	Values  []string `json:"values"`
	Invalid []string `json:"invalid"`
}

type res struct {
	Re    string `json:"re"`
	Match string `json:"match,omitempty"`
	Err   string `json:"err,omitempty"`
}

func main() {
	var x in
	if err := json.NewDecoder(os.Stdin).Decode(&x); err != nil {
		panic(err)
	}
	var out struct {
		Values  []string `json:"values"`
		Cases   []res    `json:"cases"`
		Invalid []res    `json:"invalid"`
	}
	out.Values = x.Values
	for _, r := range x.Regexes {
		parsed, err := syntax.Parse(r, syntax.Perl|syntax.DotNL)
		if err != nil {
			panic(r + ": " + err.Error())
		}
		// As Prometheus: compile the re-serialised parse tree.
		re := regexp.MustCompile("^(?s:" + parsed.String() + ")$")
		b := make([]byte, len(x.Values))
		for i, v := range x.Values {
			if re.MatchString(v) {
				b[i] = '1'
			} else {
				b[i] = '0'
			}
		}
		out.Cases = append(out.Cases, res{Re: r, Match: string(b)})
	}
	for _, r := range x.Invalid {
		_, err := syntax.Parse(r, syntax.Perl|syntax.DotNL)
		if err == nil {
			panic("valid: " + r)
		}
		out.Invalid = append(out.Invalid, res{Re: r, Err: err.Error()})
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	enc.Encode(out)
}
