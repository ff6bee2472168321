package notify

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Formats a channel can send in. SMS is always text.
const (
	FormatText     = "text"
	FormatMarkdown = "markdown"
)

// prefix opens every plain-text message, as Chinese service SMS and robot
// messages customarily do.
const prefix = "【网格通知】"

// chinaTime is China Standard Time (UTC+8, no daylight saving): due times
// are shown as a grid leader reads a clock. A fixed zone needs no tzdata.
var chinaTime = time.FixedZone("CST", 8*3600)

// Render turns m into a title and a body in format (FormatText or
// FormatMarkdown; anything else is text). Known kinds are rendered from
// m.Fields with a Chinese template, e.g. for KindRouted:
//
//	【网格通知】新案件 HY20261203-0001 已派给您：环境卫生，荷叶村第3网格，限 12月3日 14:00 前处理。详情 https://…
//
// A known kind whose key field is missing (the number of an incident, the
// code of a login code) and every unknown kind fall back to m.Text. m.Title,
// when set, replaces the template's title. Field values are cleaned: invalid
// UTF-8 is replaced and control characters become spaces, so a value cannot
// break the layout. Markdown is the subset WeCom, DingTalk and Feishu all
// render: bold, paragraphs and links.
func Render(m Message, format string) (title, body string) {
	v := newView(m)
	r, ok := compose(m.Kind, v, multiLine(m.Text))
	if t := oneLine(m.Title); t != "" {
		r.title = t
	}
	if !ok {
		if r.title == "" {
			r.title = "网格通知"
		}
		text := multiLine(m.Text)
		if text == "" {
			text = r.title
		}
		if format == FormatMarkdown {
			return r.title, "**" + r.title + "**\n\n" + strings.ReplaceAll(text, "\n", "\n\n")
		}
		return r.title, text
	}
	if format == FormatMarkdown {
		return r.title, r.markdown()
	}
	return r.title, r.text()
}

// view is the cleaned fields of a message.
type view struct {
	number, grid, category, due, link, reason, code, minutes string
}

func newView(m Message) view {
	f := func(k string) string { return oneLine(m.Fields[k]) }
	return view{
		number:   f(FieldNumber),
		grid:     f(FieldGrid),
		category: f(FieldCategory),
		due:      formatDue(f(FieldDue)),
		link:     f(FieldLink),
		reason:   f(FieldReason),
		code:     f(FieldCode),
		minutes:  f(FieldMinutes),
	}
}

// fact is one detail of a rendition: shown as "label：value" in markdown
// and as value (or "label：value" when labelled) in text.
type fact struct {
	label, value string
	labelled     bool
}

// rendition is a message laid out: a lead sentence, its facts, a closing
// clause about the due time, and a link.
type rendition struct {
	title     string
	lead      string
	facts     []fact
	tail      string
	link      string
	linkLabel string
	// whole, when set, is the complete text (login codes, tests); wholeMD its
	// markdown.
	whole, wholeMD string
}

func compose(k Kind, v view, text string) (rendition, bool) {
	incident := func(title, lead string) rendition {
		r := rendition{title: title, lead: lead, link: v.link, linkLabel: "详情"}
		r.facts = []fact{{label: "类别", value: v.category}, {label: "网格", value: v.grid}}
		return r
	}
	num := func(s string) string { // "案件 HY… " or "案件"
		if v.number == "" {
			return s
		}
		return s + " " + v.number + " "
	}
	switch k {
	case KindRouted:
		r := incident(strings.TrimSpace("新案件 "+v.number), num("新案件")+"已派给您")
		if v.due != "" {
			r.tail = "限 " + v.due + " 前处理"
		}
		return r, v.number != "" || text == ""
	case KindReassigned:
		r := incident(strings.TrimSpace("案件改派 "+v.number), num("案件")+"已改派给您")
		r.facts = append(r.facts, fact{label: "原因", value: v.reason, labelled: true})
		if v.due != "" {
			r.tail = "限 " + v.due + " 前处理"
		}
		return r, v.number != "" || text == ""
	case KindEscalated:
		r := incident(strings.TrimSpace("案件升级 "+v.number), num("案件")+"已升级至您处")
		r.facts = append(r.facts, fact{label: "原因", value: v.reason, labelled: true})
		if v.due != "" {
			r.tail = "限 " + v.due + " 前处理"
		}
		return r, v.number != "" || text == ""
	case KindDueSoon:
		r := incident(strings.TrimSpace("即将到期 "+v.number), num("案件")+"即将到期")
		if v.due != "" {
			r.tail = "请于 " + v.due + " 前处理"
		}
		return r, v.number != "" || text == ""
	case KindOverdue:
		r := incident(strings.TrimSpace("已超期 "+v.number), num("案件")+"已超期")
		if v.due != "" {
			r.tail = "应于 " + v.due + " 前处理"
		}
		return r, v.number != "" || text == ""
	case KindRatingRequest:
		lead := "您反映的问题已办结"
		if v.number != "" {
			lead = "您反映的问题（案件 " + v.number + "）已办结"
		}
		r := rendition{title: "请您评价", lead: lead, link: v.link, linkLabel: "评价"}
		r.facts = []fact{{label: "类别", value: v.category}}
		r.tail = "请对办理情况进行评价"
		return r, v.number != "" || text == ""
	case KindLoginCode:
		valid := ""
		if v.minutes != "" {
			valid = "，" + v.minutes + " 分钟内有效"
		}
		r := rendition{title: "登录验证码"}
		r.whole = prefix + "您的登录验证码为 " + v.code + valid + "。请勿将验证码告诉他人。"
		r.wholeMD = "**登录验证码**\n\n您的登录验证码为 **" + v.code + "**" + valid + "。请勿将验证码告诉他人。"
		return r, v.code != ""
	case KindTest:
		r := rendition{title: "测试消息"}
		r.whole = prefix + "测试消息：收到即表示通知通道配置正确。"
		r.wholeMD = "**测试消息**\n\n收到即表示通知通道配置正确。"
		if text != "" {
			r.whole += strings.ReplaceAll(text, "\n", " ")
			r.wholeMD += "\n\n" + strings.ReplaceAll(text, "\n", "\n\n")
		}
		return r, true
	}
	return rendition{}, false
}

func (r rendition) text() string {
	if r.whole != "" {
		return r.whole
	}
	var b strings.Builder
	b.WriteString(prefix)
	b.WriteString(r.lead)
	sep := "："
	for _, f := range r.facts {
		if f.value == "" {
			continue
		}
		b.WriteString(sep)
		if f.labelled {
			b.WriteString(f.label + "：")
		}
		b.WriteString(f.value)
		sep = "，"
	}
	if r.tail != "" {
		b.WriteString("，" + r.tail)
	}
	b.WriteString("。")
	if r.link != "" {
		b.WriteString(r.linkLabel + " " + r.link)
	}
	return b.String()
}

func (r rendition) markdown() string {
	if r.wholeMD != "" {
		return r.wholeMD
	}
	var b strings.Builder
	b.WriteString("**" + r.title + "**\n\n")
	b.WriteString(r.lead)
	if r.tail != "" {
		b.WriteString("，" + r.tail)
	}
	b.WriteString("。")
	for _, f := range r.facts {
		if f.value != "" {
			b.WriteString("\n\n" + f.label + "：" + f.value)
		}
	}
	if r.link != "" {
		b.WriteString("\n\n")
		if strings.ContainsAny(r.link, " ()[]<>") {
			b.WriteString(r.linkLabel + " " + r.link)
		} else {
			b.WriteString("[查看" + r.linkLabel + "](" + r.link + ")")
		}
	}
	return b.String()
}

// formatDue shows an RFC 3339 time as "12月3日 14:00" in China Standard
// Time; any other text is returned as it is.
func formatDue(s string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	t = t.In(chinaTime)
	return fmt.Sprintf("%d月%d日 %02d:%02d", int(t.Month()), t.Day(), t.Hour(), t.Minute())
}

// oneLine cleans a field value: invalid UTF-8 replaced, every control
// character (newlines included) and line separator made a space, trimmed.
func oneLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// multiLine cleans free text like oneLine but keeps newlines (CRLF and CR
// become LF).
func multiLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r == '\r', r == '\u2028', r == '\u2029':
			return '\n'
		case unicode.IsControl(r):
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

// ellipsis ends a truncated text.
const ellipsis = "…"

// truncateBytes returns s cut to at most max bytes, on a UTF-8 boundary,
// ending with an ellipsis when it was cut. s must be valid UTF-8.
func truncateBytes(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max - len(ellipsis)
	if cut < 0 {
		return ""
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}

// truncateRunes returns s cut to at most max runes (characters), ending
// with an ellipsis when it was cut.
func truncateRunes(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	if max < 1 {
		return ""
	}
	n := 0
	for i := range s {
		if n == max-1 {
			return s[:i] + ellipsis
		}
		n++
	}
	return s
}
