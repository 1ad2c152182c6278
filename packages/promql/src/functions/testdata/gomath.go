// Generates gomath.json: Go's float results (as IEEE-754 bit patterns) for the math
// functions PromQL uses, so the tests can check the kernels bit for bit.
// Run: go run gomath.go > gomath.json
package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
)

func main() {
	inputs := []float64{0, math.Copysign(0, -1), 1, -1, 0.5, -0.5, 2, 3, 10, 100, 1000, 1e-3, 1e-300, 5e-324, 1e300,
		math.Pi, math.E, 0.1, 0.2, 0.3, 0.7, 0.9, 0.99, 1.5, 2.5, -2.5, 7, 12.345, 123456.789, -987.654, 1024, 1e15, 1e16,
		math.Inf(1), math.Inf(-1), math.NaN(), 1.0000000000000002, 0.9999999999999999, 42, 1e-10, 3.3333333333333335, 65535.5}
	// Subnormals, the Payne-Hanek range (>= 2^29) and values around the reduction steps.
	inputs = append(inputs, 1e-310, 2.5e-320, math.Float64frombits(0x000fffffffffffff), 1<<29, 1<<29-1, 1e10, 1e20, 1e100, 1e300,
		math.MaxFloat64, 123456789.123, 0.7071067811865476, 1.4142135623730951, 0.66, 0.6600000000000001, 2.414213562373095, 2.4142135623730954)
	for i := 1; i <= 40; i++ {
		inputs = append(inputs, float64(i)*0.37-5.1, math.Pow(10, float64(i-20))*1.7)
	}
	fns := map[string]func(float64) float64{
		"exp": math.Exp, "ln": math.Log, "log2": math.Log2, "log10": math.Log10, "sqrt": math.Sqrt,
		"sin": math.Sin, "cos": math.Cos, "tan": math.Tan, "asin": math.Asin, "acos": math.Acos, "atan": math.Atan,
		"sinh": math.Sinh, "cosh": math.Cosh, "tanh": math.Tanh, "asinh": math.Asinh, "acosh": math.Acosh, "atanh": math.Atanh,
		"deg": func(v float64) float64 { return v * 180 / math.Pi },
		"rad": func(v float64) float64 { return v * math.Pi / 180 },
	}
	out := map[string][][2]string{}
	for name, f := range fns {
		for _, x := range inputs {
			out[name] = append(out[name], [2]string{fmt.Sprintf("%016x", math.Float64bits(x)), fmt.Sprintf("%016x", math.Float64bits(f(x)))})
		}
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(out); err != nil {
		panic(err)
	}
}
