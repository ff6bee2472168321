package layerfile_test

import (
	"testing"

	"wangge/geo/layerfile"
)

// BenchmarkWrite and BenchmarkRead: the demo town's 230 grids in each
// format.
func BenchmarkWrite(b *testing.B) {
	td := demoTown(b)
	for _, f := range layerfile.Formats {
		b.Run(string(f), func(b *testing.B) {
			for b.Loop() {
				if _, err := layerfile.Write(f, td, layerfile.WriteOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRead(b *testing.B) {
	td := demoTown(b)
	for _, f := range layerfile.Formats {
		data, err := layerfile.Write(f, td, layerfile.WriteOptions{})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(string(f), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := layerfile.Read("grids"+f.Ext(), data, layerfile.ReadOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
