package notify

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// incident is the fields of a routed incident in the demo town.
func incident() map[string]string {
	return map[string]string{
		FieldNumber:   "HY20261203-0001",
		FieldGrid:     "荷叶镇荷叶村第3网格",
		FieldCategory: "环境卫生",
		FieldDue:      "2026-12-03T06:00:00Z", // 14:00 in China
		FieldLink:     "https://wangge.example.cn/i/HY20261203-0001",
	}
}

func TestRender(t *testing.T) {
	for _, tc := range []struct {
		name      string
		m         Message
		format    string
		wantTitle string
		wantBody  string
	}{
		{
			name:      "routed text",
			m:         Message{Kind: KindRouted, Fields: incident()},
			wantTitle: "新案件 HY20261203-0001",
			wantBody:  "【网格通知】新案件 HY20261203-0001 已派给您：环境卫生，荷叶镇荷叶村第3网格，限 12月3日 14:00 前处理。详情 https://wangge.example.cn/i/HY20261203-0001",
		},
		{
			name:      "routed markdown",
			m:         Message{Kind: KindRouted, Fields: incident()},
			format:    FormatMarkdown,
			wantTitle: "新案件 HY20261203-0001",
			wantBody: "**新案件 HY20261203-0001**\n\n新案件 HY20261203-0001 已派给您，限 12月3日 14:00 前处理。" +
				"\n\n类别：环境卫生\n\n网格：荷叶镇荷叶村第3网格\n\n[查看详情](https://wangge.example.cn/i/HY20261203-0001)",
		},
		{
			name:      "reassigned with reason",
			m:         Message{Kind: KindReassigned, Fields: merge(incident(), map[string]string{FieldReason: "原网格长请假"})},
			wantTitle: "案件改派 HY20261203-0001",
			wantBody:  "【网格通知】案件 HY20261203-0001 已改派给您：环境卫生，荷叶镇荷叶村第3网格，原因：原网格长请假，限 12月3日 14:00 前处理。详情 https://wangge.example.cn/i/HY20261203-0001",
		},
		{
			name:      "escalated",
			m:         Message{Kind: KindEscalated, Fields: merge(incident(), map[string]string{FieldReason: "超期未处理"})},
			wantTitle: "案件升级 HY20261203-0001",
			wantBody:  "【网格通知】案件 HY20261203-0001 已升级至您处：环境卫生，荷叶镇荷叶村第3网格，原因：超期未处理，限 12月3日 14:00 前处理。详情 https://wangge.example.cn/i/HY20261203-0001",
		},
		{
			name:      "due soon",
			m:         Message{Kind: KindDueSoon, Fields: incident()},
			wantTitle: "即将到期 HY20261203-0001",
			wantBody:  "【网格通知】案件 HY20261203-0001 即将到期：环境卫生，荷叶镇荷叶村第3网格，请于 12月3日 14:00 前处理。详情 https://wangge.example.cn/i/HY20261203-0001",
		},
		{
			name:      "overdue",
			m:         Message{Kind: KindOverdue, Fields: incident()},
			wantTitle: "已超期 HY20261203-0001",
			wantBody:  "【网格通知】案件 HY20261203-0001 已超期：环境卫生，荷叶镇荷叶村第3网格，应于 12月3日 14:00 前处理。详情 https://wangge.example.cn/i/HY20261203-0001",
		},
		{
			name:      "rating request",
			m:         Message{Kind: KindRatingRequest, Fields: map[string]string{FieldNumber: "HY20261203-0001", FieldCategory: "环境卫生", FieldLink: "https://wangge.example.cn/r/abc"}},
			wantTitle: "请您评价",
			wantBody:  "【网格通知】您反映的问题（案件 HY20261203-0001）已办结：环境卫生，请对办理情况进行评价。评价 https://wangge.example.cn/r/abc",
		},
		{
			name:      "login code",
			m:         Message{Kind: KindLoginCode, Fields: map[string]string{FieldCode: "482913", FieldMinutes: "5"}},
			wantTitle: "登录验证码",
			wantBody:  "【网格通知】您的登录验证码为 482913，5 分钟内有效。请勿将验证码告诉他人。",
		},
		{
			name:      "login code markdown",
			m:         Message{Kind: KindLoginCode, Fields: map[string]string{FieldCode: "482913"}},
			format:    FormatMarkdown,
			wantTitle: "登录验证码",
			wantBody:  "**登录验证码**\n\n您的登录验证码为 **482913**。请勿将验证码告诉他人。",
		},
		{
			name:      "test",
			m:         Message{Kind: KindTest, Text: "管理员 张三 发起"},
			wantTitle: "测试消息",
			wantBody:  "【网格通知】测试消息：收到即表示通知通道配置正确。管理员 张三 发起",
		},
		{
			name:      "due already formatted, no link, no grid",
			m:         Message{Kind: KindRouted, Fields: map[string]string{FieldNumber: "HY1", FieldCategory: "噪音扰民", FieldDue: "今日 18:00"}},
			wantTitle: "新案件 HY1",
			wantBody:  "【网格通知】新案件 HY1 已派给您：噪音扰民，限 今日 18:00 前处理。",
		},
		{
			name:      "title given replaces the template's",
			m:         Message{Kind: KindRouted, Title: "请尽快处理", Fields: incident()},
			wantTitle: "请尽快处理",
			wantBody:  "【网格通知】新案件 HY20261203-0001 已派给您：环境卫生，荷叶镇荷叶村第3网格，限 12月3日 14:00 前处理。详情 https://wangge.example.cn/i/HY20261203-0001",
		},
		{
			name:      "field values cannot break the layout",
			m:         Message{Kind: KindRouted, Fields: map[string]string{FieldNumber: "HY2\r\n", FieldCategory: "乱扔\n垃圾\x00", FieldGrid: "坏\xff字节"}},
			wantTitle: "新案件 HY2",
			wantBody:  "【网格通知】新案件 HY2 已派给您：乱扔 垃圾，坏\uFFFD字节。",
		},
		{
			name:      "known kind without its number falls back to the text",
			m:         Message{Kind: KindRouted, Title: "通知", Text: "请到村委会领取物资。"},
			wantTitle: "通知",
			wantBody:  "请到村委会领取物资。",
		},
		{
			name:      "unknown kind is its text",
			m:         Message{Kind: "holiday", Title: "放假通知", Text: "国庆节放假七天。\r\n注意安全。"},
			wantTitle: "放假通知",
			wantBody:  "国庆节放假七天。\n注意安全。",
		},
		{
			name:      "unknown kind in markdown",
			m:         Message{Kind: "holiday", Title: "放假通知", Text: "国庆节放假七天。\n注意安全。"},
			format:    FormatMarkdown,
			wantTitle: "放假通知",
			wantBody:  "**放假通知**\n\n国庆节放假七天。\n\n注意安全。",
		},
		{
			name:      "unknown kind without anything",
			m:         Message{Kind: "holiday"},
			wantTitle: "网格通知",
			wantBody:  "网格通知",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			title, body := Render(tc.m, tc.format)
			if title != tc.wantTitle {
				t.Errorf("title = %q, want %q", title, tc.wantTitle)
			}
			if body != tc.wantBody {
				t.Errorf("body =\n%q\nwant\n%q", body, tc.wantBody)
			}
		})
	}
}

func merge(a, b map[string]string) map[string]string {
	for k, v := range b {
		a[k] = v
	}
	return a
}

func TestFormatDue(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"2026-12-03T06:00:00Z", "12月3日 14:00"},
		{"2026-12-31T23:30:00+08:00", "12月31日 23:30"},
		{"2026-12-31T16:30:00Z", "1月1日 00:30"},
		{"明天上午", "明天上午"},
		{"", ""},
	} {
		if got := formatDue(tc.in); got != tc.want {
			t.Errorf("formatDue(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTruncateBytes(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"fits", "网格通知", 12, "网格通知"},
		{"cut inside a character backs off to its start", "网格通知", 10, "网格…"}, // 网格 6 bytes + … 3
		{"cut on a boundary", "网格通知", 9, "网格…"},
		{"ascii", "abcdefgh", 6, "abc…"},
		{"too small for the ellipsis", "网格通知", 2, ""},
		{"room for the ellipsis only", "网格通知", 3, "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := truncateBytes(tc.in, tc.max)
			if got != tc.want {
				t.Errorf("truncateBytes(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
			}
			if len(got) > tc.max || !utf8.ValidString(got) {
				t.Errorf("got %d bytes (max %d), valid UTF-8 %v", len(got), tc.max, utf8.ValidString(got))
			}
		})
	}
}

func TestTruncateRunes(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"fits", "网格通知", 4, "网格通知"},
		{"cut", "网格通知消息", 4, "网格通…"},
		{"mixed", "a网b格c", 3, "a网…"},
		{"one", "网格", 1, "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := truncateRunes(tc.in, tc.max); got != tc.want {
				t.Errorf("truncateRunes(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
			}
		})
	}
}

// TestRenderLongText checks that a long description stays valid UTF-8
// through every channel's cut.
func TestRenderLongText(t *testing.T) {
	m := Message{Kind: "notice", Text: strings.Repeat("居民反映楼道堆放杂物。", 1000)}
	_, body := Render(m, FormatText)
	for _, max := range []int{weComTextMax, weComMarkdownMax, dingTalkMax, feishuMax} {
		got := truncateBytes(body, max)
		if len(got) > max || !utf8.ValidString(got) || !strings.HasSuffix(got, ellipsis) {
			t.Errorf("cut to %d: %d bytes, valid %v", max, len(got), utf8.ValidString(got))
		}
	}
}
