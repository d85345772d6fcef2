"""The fixed world's rows: schools, programmes, parks, bureaus, and what hangs off schools and
parks (mentors, practice bases, the Annex-1 table)."""

from __future__ import annotations

from service.sample import formats as fmt
from service.sample.gen_base import (
    MENTOR_LABELS,
    GeneratorBase,
    as_field,
)
from service.sample.leading import rows as leading_rows
from service.sample.vocab import (
    ACADEMIC_TITLES,
)
from service.sample.world import (
    Park,
    School,
    park_row,
    person_name,
    programme_row,
    school_row,
)


class FixedWorld(GeneratorBase):
    def _fixed(self) -> None:
        rng, w = self.rng, self.world
        for b in w.bureaus:
            self.write(fmt.BUREAUS, b)
        for li in leading_rows():
            self.write(fmt.LEADING_INDUSTRIES, li)
        for p in w.parks:
            self.write(fmt.PARKS, park_row(p, rng))
        for s in w.schools:
            self.write(fmt.SCHOOLS, school_row(s, rng))
            for m in s.programmes:
                self.write(fmt.PROGRAMMES, programme_row(s, m, rng))
        for s in w.schools:
            self._school_mentors(s)
            if s.programmes and rng.random() < 0.35:
                m = rng.choice(s.programmes)
                self._base(
                    f"{s.name}{m.name}实训基地",
                    s.region_code,
                    [m.name, m.class_name],
                    host_school=s.code,
                )
        # Annex 1 rows: each bureau (province, city, county) and some schools with their parks.
        units: dict[str, list[Park]] = {}
        for p in w.parks:
            units.setdefault(w.city_bureau[p.city_code], []).append(p)
            county = w.county_bureau.get(p.region_code)
            if county:
                units.setdefault(county, []).append(p)
            if p.name.startswith(("郑州航空港", "中原科技城")):
                units.setdefault("河南省教育厅", []).append(p)
            near = self.schools_by_city.get(p.city_code, [])
            for s in rng.sample(near, min(len(near), rng.randint(1, 3))):
                units.setdefault(s.name, []).append(p)
        for unit, parks in units.items():
            self.pairing_row(unit, [p.name for p in parks], self._park_need(parks[0]))

    def _park_need(self, p: Park) -> str:
        rng = self.rng
        occs = self._occupation_names(rng.choice(p.divisions), 2)
        return (
            f"园区{p.chains[0]}企业急需{'、'.join(occs)}等技术技能人才；"
            f"希望共建{p.chains[0]}产业学院和实习实训基地，开展订单培养。"
        )

    def _school_mentors(self, s: School) -> None:
        rng = self.rng
        n = {"双一流": 8, "本科": 5, "职教本科": 4, "高职专科": 3, "中职": 1}[s.kind]
        names: set[str] = set()
        for _ in range(rng.randint(1, n)):
            name = person_name(rng)
            if name in names or not s.programmes:
                continue
            names.add(name)
            majors = rng.sample(s.programmes, min(2, len(s.programmes)))
            kind = (
                "research" if s.kind in ("双一流", "本科") and rng.random() < 0.35 else "academic"
            )
            fields = [m.name for m in majors]
            title = rng.choice(ACADEMIC_TITLES)
            text = (
                f"{name}，{s.name}{title}，长期从事{'、'.join(fields)}方向的教学与研究，"
                f"主持横向课题{rng.randint(1, 12)}项。"
            )
            self._mentor(name, kind, fields, title, text, school=s.code)

    def _mentor(
        self,
        name: str,
        kind: str,
        fields: list[str],
        title: str,
        text: str,
        school: str | None = None,
        enterprise: str | None = None,
    ) -> None:
        self.mentor_seq += 1
        self.write(
            fmt.MENTORS,
            {
                "name": name,
                "kind": kind,
                "kind_label": MENTOR_LABELS[kind],
                "school_code": school,
                "credit_code": enterprise,
                "title": title,
                "fields": [as_field(f) for f in fields],
                "description": text,
                "capacity": self.rng.randint(1, 6),
                "contact_email": f"mentor{self.mentor_seq:07d}@example.cn",
            },
        )

    def _base(
        self,
        name: str,
        region_code: str,
        fields: list[str],
        host_school: str | None = None,
        host_enterprise: str | None = None,
    ) -> None:
        if name in self.base_names:
            return
        self.base_names.add(name)
        rng = self.rng
        text = (
            f"{name}面向{'、'.join(fields)}等方向，提供岗位实习、跟岗实训和教师实践岗位，"
            f"配备专职指导人员{rng.randint(2, 20)}名。"
        )
        self.write(
            fmt.PRACTICE_BASES,
            {
                "name": name,
                "host_credit_code": host_enterprise,
                "host_school_code": host_school,
                "region_code": region_code,
                "fields": [as_field(f) for f in fields],
                "description": text,
                "slots_per_term": rng.randint(2, 16) * 5,
            },
        )

    # -- enterprises, streamed ---------------------------------------------------------------
