"""The streamed part of the sample: enterprises (with duplicate records), their needs,
industry professors, practice bases and partnerships, written as they are made."""

from __future__ import annotations

import datetime as dt
from typing import Any

from models import vocab as V
from service.sample import catalogs as cat
from service.sample import formats as fmt
from service.sample.gen_base import (
    _NEED_CUM,
    _SIZE_CUM,
    EXTRAS,
    NEED_KINDS,
    SIZES,
    STATUS_LABELS,
    ProgressFn,
    _bisect,
    _date,
    _staff,
    credit_code,
    party,
)
from service.sample.gen_fixed import FixedWorld
from service.sample.mess import fullwidth, name_variant, pdf_spaces
from service.sample.vocab import (
    CHAINS,
    CITY_CHAINS,
    DIVISION_NAME_WORDS,
    INDUSTRY_TITLES,
)
from service.sample.world import (
    Park,
    School,
    brand,
    mobile,
    person_name,
)


class EnterpriseStream(FixedWorld):
    def _enterprises(self, progress: ProgressFn | None) -> None:
        done = 0
        while done < self.n:
            dup = done + 1 < self.n and self.rng.random() < 0.02
            # Record number (1-based) → credit code: a twin takes the next number.
            for row, meta in self._enterprise(done + 1, dup):
                self.write(fmt.ENTERPRISES, row)
                self._children(row, meta)
                done += 1
                if progress and done % 1000 == 0:
                    progress(1000)
        if progress and done % 1000:
            progress(done % 1000)

    def _enterprise(self, index: int, dup: bool) -> list[tuple[dict, dict]]:
        rng = self.rng
        city = self.city_codes[_bisect(self.city_cum, rng.random() * self.city_cum[-1])]
        park: Park | None = None
        parks = self.parks_by_city.get(city)
        if parks and rng.random() < 0.55:
            park = rng.choice(parks)
            region = park.region_code
            division = rng.choice(park.divisions)
        else:
            region = rng.choice(self.counties[city]).code
            if rng.random() < 0.7:
                division = rng.choice(CHAINS[rng.choice(CITY_CHAINS[city])])
            else:
                division = rng.choice(tuple(DIVISION_NAME_WORDS))
        group = None
        if rng.random() < 0.08:
            group = rng.choice(self.world.groups)
            division = rng.choice(group.divisions)
        size = rng.choices(SIZES, cum_weights=_SIZE_CUM)[0]
        if group and size in ("小型", "微型") and rng.random() < 0.6:
            size = "中型"
        word = rng.choice(DIVISION_NAME_WORDS.get(division, ("科技",)))
        core = group.brand if group else brand(rng)
        if dup:
            prefix = "河南"
        else:
            r = rng.random()
            prefix = (
                cat.regions()[city].short
                if r < 0.6
                else "河南"
                if r < 0.85
                else cat.regions()[region].short
            )
        suffix = rng.choices(("有限公司", "股份有限公司", "有限责任公司"), (75, 15, 10))[0]
        name = f"{prefix}{core}{word}{suffix}"
        codes = self._industry_codes(division)
        meta: dict[str, Any] = {
            "division": division,
            "city": city,
            "region": region,
            "size": size,
            "classes": [cat.industries()[c].name for c in codes if c in cat.industries()],
        }
        status = "inactive" if rng.random() < 0.03 else "active"
        row: dict[str, Any] = {
            "credit_code": credit_code(index, region, self.offset),
            "name": name,
            "industry_codes": codes,
            "region_code": region,
            "park": park.name if park else None,
            "size": size,
            "group_name": group.name if group else None,
            "description": self._description(name, meta, park),
            "contact_name": person_name(rng),
            "contact_phone": mobile(rng),
            "status": status,
            "status_label": STATUS_LABELS[status],
        }
        out = [(row, meta)]
        if dup:
            # The same company registered again under a variant name, with another code.
            variant = name_variant(core, "河南", word, rng)
            twin = {
                **row,
                "credit_code": credit_code(index + 1, region, self.offset),
                "name": variant,
                "contact_name": person_name(rng),
                "description": self._description(variant, meta, park),
            }
            out.append((twin, {**meta, "size": size, "twin": True}))
        return out

    def _industry_codes(self, division: str) -> list[str]:
        rng = self.rng
        classes = self.classes.get(division)
        if not classes:
            return [division]
        picks = rng.sample(classes, min(len(classes), rng.choice((1, 1, 2, 2, 3))))
        return [c.code for c in picks]

    def _description(self, name: str, meta: dict, park: Park | None) -> str:
        rng = self.rng
        region = cat.regions()[meta["region"]]
        where = (
            park.name
            if park
            else (
                cat.regions()[meta["city"]].name + ("" if region.level == "city" else region.name)
            )
        )
        text = (
            f"{name}成立于{rng.randint(1993, 2023)}年，位于{where}，主要从事"
            f"{'、'.join(meta['classes']) or '相关'}等业务，属{meta['size']}企业，"
            f"现有员工约{_staff(rng, meta['size'])}人。"
        )
        if rng.random() < 0.5:
            text += rng.choice(EXTRAS).format(n=rng.randint(5, 30))
        r = rng.random()
        if r < 0.05:
            text = fullwidth(text)
        elif r < 0.12:
            text = pdf_spaces(text, rng)
        return text

    # -- what hangs off one enterprise -----------------------------------------------------
    def _children(self, row: dict, meta: dict) -> None:
        rng = self.rng
        code, size, division = row["credit_code"], meta["size"], meta["division"]
        big = size == "大型"
        self._needs(row, meta)
        if rng.random() < (0.3 if big else 0.04):
            names: set[str] = set()
            for _ in range(rng.randint(1, 2 if not big else 3)):
                self._industry_professor(row, meta, names)
        if rng.random() < (0.25 if big else 0.03):
            field_name = rng.choice(meta["classes"] or ["综合"])
            self._base(
                f"{row['name']}{field_name}实践教学基地",
                row["region_code"],
                [field_name, *self._occupation_names(division, 1)],
                host_enterprise=code,
            )
        if meta.get("twin"):
            return  # duplicates are what the product must detect: no partnerships of their own
        me = party("enterprise", code)
        if big and self.hubs < self.hub_cap and rng.random() < 0.3:
            # A hub: a large enterprise many schools have already paired with (skew).
            self.hubs += 1
            for s in self._schools_for(meta, rng.randint(8, 30), anywhere=True):
                self.partnership(party("school", s.code if rng.random() < 0.5 else s.name), me)
        elif rng.random() < (0.3 if big else 0.12 if size == "中型" else 0.04):
            for s in self._schools_for(meta, rng.randint(1, 2)):
                self.partnership(party("school", s.code if rng.random() < 0.5 else s.name), me)
        if rng.random() < (0.4 if big else 0.04):
            pool = self.programmes_by_div.get(division, [])
            for s, m in rng.sample(pool, min(len(pool), rng.randint(1, 3))):
                self.co_built(s, m, code)
        if rng.random() < 0.01:
            bureau = (
                self.world.county_bureau.get(meta["region"]) or self.world.city_bureau[meta["city"]]
            )
            occ = rng.choice(self._occupations(division))
            need = f"急需{occ.name}{rng.randint(2, 20)}名；希望对接职业院校开展订单培养。"
            self.pairing_row(bureau, [code], need)

    def _schools_for(self, meta: dict, k: int, anywhere: bool = False) -> list[School]:
        """k distinct schools: teaching for the division (in the same city unless `anywhere`),
        topped up with other schools of the city."""
        city, division = meta["city"], meta["division"]
        pool = self.schools_by_div.get(division, [])
        if anywhere:
            return self.rng.sample(pool, min(k, len(pool)))
        local = self._local.get((city, division))
        if local is None:
            near = [s for s in pool if s.city_code == city]
            codes = {s.code for s in near}
            near += [s for s in self.schools_by_city.get(city, []) if s.code not in codes]
            local = self._local[(city, division)] = near
        return self.rng.sample(local, min(k, len(local)))

    def _needs(self, row: dict, meta: dict) -> None:
        rng = self.rng
        r = rng.random()
        n = 0 if r < 0.4 else 1 if r < 0.75 else 2 if r < 0.92 else 3
        titles: set[str] = set()
        for _ in range(n):
            kind = rng.choices(NEED_KINDS, cum_weights=_NEED_CUM)[0]
            occ = rng.choice(self._occupations(meta["division"]))
            title, text, headcount = self._need_text(kind, occ, meta)
            if title in titles:
                continue
            titles.add(title)
            if rng.random() < 0.12:
                text = pdf_spaces(text, rng)
            self.write(
                fmt.NEEDS,
                {
                    "credit_code": row["credit_code"],
                    "kind": kind,
                    "title": title,
                    "description": text,
                    "headcount": headcount,
                    "deadline": _date(rng, dt.date(2025, 3, 1), 640)
                    if rng.random() < 0.85
                    else None,
                    "status": rng.choices(V.NEED_STATUSES, (75, 15, 10))[0],
                },
            )

    def _need_text(self, kind: str, occ: cat.Occupation, meta: dict) -> tuple[str, str, int | None]:
        rng = self.rng
        field_name = rng.choice(meta["classes"] or [occ.name])
        if kind == "talent":
            n = rng.choice((1, 2, 2, 3, 5, 8, 10, 20))
            title = f"招聘{occ.name}"
            if rng.random() < 0.3:
                count = str(n)
                title += f"{fullwidth(count) if rng.random() < 0.4 else count}名"
            text = f"岗位职责：{occ.definition}主要工作任务：{occ.tasks}"
            return title, text, n
        if kind == "technology":
            title = f"{field_name}关键技术合作研发"
            text = (
                f"企业在{field_name}领域存在工艺优化与产品升级需求，拟与高校联合攻关，"
                f"涉及{occ.name}相关工作：{occ.tasks}"
            )
            return title, text, rng.choice((None, 2, 3, 5))
        if kind == "training":
            title = f"{occ.name}岗位技能提升培训"
            text = (
                f"为在岗员工开展{occ.name}技能培训。该职业{occ.definition}培训内容包括：{occ.tasks}"
            )
            return title, text, rng.randint(2, 40) * 5
        if kind == "practice_base":
            title = f"共建{field_name}实践教学基地"
            text = (
                f"拟与院校共建{field_name}方向实践教学基地，每学期接收实习学生，"
                f"岗位包括{occ.name}：{occ.definition}"
            )
            return title, text, rng.randint(2, 12) * 5
        title = f"聘请{field_name}方向校外导师"
        text = (
            f"希望聘请高校{field_name}方向导师担任技术顾问，并推荐企业{occ.name}骨干"
            f"担任产业教授，共同指导学生。{occ.definition}"
        )
        return title, text, rng.randint(1, 4)

    def _industry_professor(self, row: dict, meta: dict, used: set[str]) -> None:
        rng = self.rng
        name = person_name(rng)
        if name in used:  # (name, enterprise) is a mentor's natural key
            return
        used.add(name)
        fields = list(
            dict.fromkeys([*meta["classes"][:2], *self._occupation_names(meta["division"], 1)])
        )
        title = rng.choice(INDUSTRY_TITLES)
        text = (
            f"{name}，{row['name']}{title}，从事{'、'.join(fields)}相关工作"
            f"{rng.randint(8, 30)}年，受聘为产业教授，可指导学生实习与毕业设计。"
        )
        self._mentor(name, "industry_professor", fields, title, text, enterprise=row["credit_code"])
