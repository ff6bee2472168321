package workcal

import "time"

// The statutory holidays themselves are law, not the yearly notice:
// 全国年节及纪念日放假办法 (as revised by the State Council on 2024-11-10, in
// force from 2025-01-01), 第二条, gives every citizen 元旦 (1 January), 春节
// (除夕 and 正月初一 to 初三), 清明节 (the day of the 清明 solar term), 劳动节
// (1 and 2 May), 端午节 (五月初五), 中秋节 (八月十五) and 国庆节 (1 to 3
// October) off. The yearly notice adds the rest: the 补假 when one of them
// falls on a weekend (第五条), the bridging days and the weekend days worked
// instead (调休上班). So the statutory days are off whatever the calendar
// lists, which is never wrong, and a year whose notice is not entered yet
// lacks the rest, which may still be: Covers tells which years have it.

// lunarDates holds, by year, the Gregorian dates of the holidays that move
// with the lunar calendar and the solar terms: 除夕 (the day before 正月初一),
// 清明, 端午 and 中秋. Computed with lunar-javascript 1.7.7
// (Lunar.fromYmd(y, 1, 1).getSolar().next(-1), the 清明 of getJieQiTable(),
// Lunar.fromYmd(y, 5, 5) and (y, 8, 15)); TestStatutoryWithinNotices holds
// them to the published notices of 2025 and 2026.
var lunarDates = map[int]struct{ eve, qingming, duanwu, zhongqiu monthDay }{
	2025: {eve: monthDay{1, 28}, qingming: monthDay{4, 4}, duanwu: monthDay{5, 31}, zhongqiu: monthDay{10, 6}},
	2026: {eve: monthDay{2, 16}, qingming: monthDay{4, 5}, duanwu: monthDay{6, 19}, zhongqiu: monthDay{9, 25}},
	2027: {eve: monthDay{2, 5}, qingming: monthDay{4, 5}, duanwu: monthDay{6, 9}, zhongqiu: monthDay{9, 15}},
	2028: {eve: monthDay{1, 25}, qingming: monthDay{4, 4}, duanwu: monthDay{5, 28}, zhongqiu: monthDay{10, 3}},
	2029: {eve: monthDay{2, 12}, qingming: monthDay{4, 4}, duanwu: monthDay{6, 16}, zhongqiu: monthDay{9, 22}},
	2030: {eve: monthDay{2, 2}, qingming: monthDay{4, 5}, duanwu: monthDay{6, 5}, zhongqiu: monthDay{9, 12}},
	2031: {eve: monthDay{1, 22}, qingming: monthDay{4, 5}, duanwu: monthDay{6, 24}, zhongqiu: monthDay{10, 1}},
	2032: {eve: monthDay{2, 10}, qingming: monthDay{4, 4}, duanwu: monthDay{6, 12}, zhongqiu: monthDay{9, 19}},
	2033: {eve: monthDay{1, 30}, qingming: monthDay{4, 4}, duanwu: monthDay{6, 1}, zhongqiu: monthDay{9, 8}},
	2034: {eve: monthDay{2, 18}, qingming: monthDay{4, 5}, duanwu: monthDay{6, 20}, zhongqiu: monthDay{9, 27}},
	2035: {eve: monthDay{2, 7}, qingming: monthDay{4, 5}, duanwu: monthDay{6, 10}, zhongqiu: monthDay{9, 16}},
}

type monthDay struct {
	month time.Month
	day   int
}

// Statutory returns the statutory holiday d is, by the law alone ("" and
// false when it is none, or when d's year is outside 2025–2035, the years
// whose lunar dates are known here).
func Statutory(d Date) (string, bool) {
	lunar, ok := lunarDates[d.Year]
	if !ok {
		return "", false
	}
	on := func(md monthDay, days int) bool {
		first := Date{d.Year, md.month, md.day}
		return d.Compare(first) >= 0 && d.Compare(first.AddDays(days-1)) <= 0
	}
	switch {
	case on(monthDay{time.January, 1}, 1):
		return "元旦", true
	case on(lunar.eve, 4):
		return "春节", true
	case on(lunar.qingming, 1):
		return "清明节", true
	case on(monthDay{time.May, 1}, 2):
		return "劳动节", true
	case on(lunar.duanwu, 1):
		return "端午节", true
	case on(lunar.zhongqiu, 1):
		return "中秋节", true
	case on(monthDay{time.October, 1}, 3):
		return "国庆节", true
	}
	return "", false
}
