package notify

import "testing"

func TestJSONField(t *testing.T) {
	body := []byte(`{"Code":"OK","result":{"code":0,"ok":true,"ids":[1,2],"none":null,"big":12345678901234567890}}`)
	for _, tc := range []struct {
		path, want string
		found      bool
	}{
		{"Code", "OK", true},
		{"result.code", "0", true},
		{"result.ok", "true", true},
		{"result.ids", "[1,2]", true},
		{"result.none", "null", true},
		{"result.big", "12345678901234567890", true},
		{"result.missing", "", false},
		{"Code.deeper", "", false},
		{"code", "", false}, // field names are case-sensitive
	} {
		got, found := jsonField(body, tc.path)
		if got != tc.want || found != tc.found {
			t.Errorf("jsonField(%q) = %q, %v; want %q, %v", tc.path, got, found, tc.want, tc.found)
		}
	}
	if _, found := jsonField([]byte("not json"), "Code"); found {
		t.Error("found a field in text that is not JSON")
	}
}

func TestFeishuColour(t *testing.T) {
	for k, want := range map[Kind]string{KindOverdue: "red", KindEscalated: "red", KindDueSoon: "orange", KindRouted: "blue", "other": "blue"} {
		if got := feishuColour(k); got != want {
			t.Errorf("feishuColour(%s) = %s, want %s", k, got, want)
		}
	}
}
