-- Time limits by service item (issue 11, 限时办结): the categories become a
-- catalogue of service items (服务事项), each with a time limit in working
-- days or in hours, and working days follow a holiday calendar kept as
-- data. Both are edited at run time by an admin (/v1/service-items,
-- /v1/calendar); every replica reloads them on NOTIFY 'limits'.

CREATE TABLE service_items (
    code            text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{0,39}$'),
    name_zh         text NOT NULL CHECK (name_zh <> ''),
    description     text NOT NULL DEFAULT '',
    -- The limit: exactly one of the two. Working days count as 自受理之日起
    -- N 个工作日 (geo/workcal); hours are clock hours.
    limit_workdays  integer CHECK (limit_workdays BETWEEN 1 AND 250),
    limit_hours     integer CHECK (limit_hours BETWEEN 1 AND 8760),
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    created_by      text NOT NULL DEFAULT 'migration',
    -- Idempotency-Key of the creating request, scoped to its caller, with
    -- the hash of the body it was first used with.
    idempotency_key text,
    request_hash    bytea,
    CONSTRAINT service_item_one_limit CHECK ((limit_workdays IS NULL) <> (limit_hours IS NULL)),
    CONSTRAINT service_item_idempotency UNIQUE (created_by, idempotency_key)
);

-- Today's categories, with the limits the town works to. A severity
-- (major, urgent) may shorten them at intake: see geo.Dispatcher.
INSERT INTO service_items (code, name_zh, description, limit_workdays, limit_hours) VALUES
    ('dispute', '矛盾纠纷', '邻里、婚姻家庭、土地山林等矛盾纠纷的排查与调处', 10, NULL),
    ('environment', '环境卫生', '垃圾堆放、污水、焚烧秸秆等人居环境问题', 3, NULL),
    ('safety', '安全隐患', '房屋、道路、水塘、用电、消防等安全隐患', NULL, 24),
    ('livelihood', '民生诉求', '就业、社保、医疗、救助等民生事项', 5, NULL),
    ('customs', '移风易俗', '红白喜事大操大办、高额彩礼等移风易俗事项', 3, NULL),
    ('left_behind_children', '留守儿童', '留守儿童的监护、安全与关爱', NULL, 48),
    ('other', '其他', '以上未列的其他事项', 5, NULL);

-- An incident's category is a service item (it was a fixed list). An item
-- is retired by making it inactive, never deleted: incidents keep it.
ALTER TABLE incidents DROP CONSTRAINT incidents_category_check;
ALTER TABLE incidents ADD CONSTRAINT incidents_category_fkey FOREIGN KEY (category) REFERENCES service_items (code);

-- The holiday calendar: the days that depart from "Monday to Friday work":
-- statutory holidays (放假, also on weekdays) and the weekend days worked
-- instead (调休上班). Days not listed follow the weekday rule.
CREATE TABLE holidays (
    date       date PRIMARY KEY,
    kind       text NOT NULL CHECK (kind IN ('holiday', 'workday')),
    name       text NOT NULL CHECK (name <> ''),
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text NOT NULL DEFAULT 'migration'
);

-- 2026, from 国务院办公厅关于2026年部分节假日安排的通知 (国务院办公厅,
-- 2025-11-04; published by Xinhua that day, e.g.
-- https://politics.gmw.cn/2025-11/04/content_38391083.htm):
--   一、元旦:1月1日(周四)至3日(周六)放假调休,共3天。1月4日(周日)上班。
--   二、春节:2月15日(周日)至23日(周一)放假调休,共9天。2月14日(周六)、2月28日(周六)上班。
--   三、清明节:4月4日(周六)至6日(周一)放假,共3天。
--   四、劳动节:5月1日(周五)至5日(周二)放假调休,共5天。5月9日(周六)上班。
--   五、端午节:6月19日(周五)至21日(周日)放假,共3天。
--   六、中秋节:9月25日(周五)至27日(周日)放假,共3天。
--   七、国庆节:10月1日(周四)至7日(周三)放假调休,共7天。9月20日(周日)、10月10日(周六)上班。
--
-- 2027 is NOT included: its notice (国务院办公厅关于2027年部分节假日安排的通知)
-- could not be found when this file was written (December 2026). Until an
-- admin enters it (PUT /v1/calendar/{date}), 2027 follows the weekday rule
-- alone, and GET /v1/calendar reports which years are covered.
INSERT INTO holidays (date, kind, name)
SELECT d::date, 'holiday', name
FROM (VALUES
    ('2026-01-01', '2026-01-03', '元旦'),
    ('2026-02-15', '2026-02-23', '春节'),
    ('2026-04-04', '2026-04-06', '清明节'),
    ('2026-05-01', '2026-05-05', '劳动节'),
    ('2026-06-19', '2026-06-21', '端午节'),
    ('2026-09-25', '2026-09-27', '中秋节'),
    ('2026-10-01', '2026-10-07', '国庆节')
) AS r (first, last, name), generate_series(first::date, last::date, interval '1 day') AS d;

INSERT INTO holidays (date, kind, name) VALUES
    ('2026-01-04', 'workday', '元旦调休上班'),
    ('2026-02-14', 'workday', '春节调休上班'),
    ('2026-02-28', 'workday', '春节调休上班'),
    ('2026-05-09', 'workday', '劳动节调休上班'),
    ('2026-09-20', 'workday', '国庆节调休上班'),
    ('2026-10-10', 'workday', '国庆节调休上班');
