"""Words for the sample's people and school names: brand syllables, surnames, given names,
titles, school name patterns, and the 双高 / 双一流 / renamed school lists."""

from __future__ import annotations


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


BRAND_SYLLABLES = _words(
    "华 中 豫 鼎 瑞 恒 宏 博 卓 润 嘉 泰 康 盛 通 达 安 信 诚 远 汇 源 丰 兴 昌 隆 鑫 元 正 德 "
    "宇 航 腾 骏 锦 程 天 启 明 辰 星 海 川 岳 嵩 洛 伊 颍 淮 中 原 金 银 科 创 智 新 联 合 力 "
    "凯 越 众 诺 宸 睿 杰 峰 云 朗 晟 昊 弘 懋 冠 钧 昇 晖 辉 耀 翔 飞 扬 坤 乾 泓 洲 黎 禾 沃 "
    "龙 凤 麒 麟 豪 逸 卓 尔 思 维 乐 佳 美 雅 顺 和 亿 万 千 百 方 圆 益 好 久 长 立 牧 嘉 禹"
)

SURNAMES = _words(
    "王 李 张 刘 陈 杨 赵 黄 周 吴 徐 孙 胡 朱 高 林 何 郭 马 罗 梁 宋 郑 谢 韩 唐 冯 于 董 "
    "萧 程 曹 袁 邓 许 傅 沈 曾 彭 吕 苏 卢 蒋 蔡 贾 丁 魏 薛 叶 阎 余 潘 杜 戴 夏 钟 汪 田 "
    "任 姜 范 方 石 姚 谭 廖 邹 熊 金 陆 郝 孔 白 崔 康 毛 邱 秦 江 史 顾 侯 邵 孟 龙 万 段 "
    "雷 钱 汤 尹 黎 易 常 武 乔 贺 赖 龚 文 牛 申 司马 欧阳"
)
GIVEN_CHARS = _words(
    "伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀 霞 平 刚 桂 英 华 建 文 辉 "
    "玲 鹏 宇 浩 凯 晨 阳 博 帆 雪 婷 倩 琳 欣 悦 佳 思 雨 宁 志 国 红 峰 斌 亮 俊 鑫 "
    "晓 海 燕 颖 丹 飞 彬 庆 瑞 振 豪 昊 翔 坤 兵 鹤 松 蕾 薇 萌 璐 梦 楠 嘉 卫 东"
)

ACADEMIC_TITLES = ("教授", "副教授", "副教授", "讲师", "讲师", "研究员", "副研究员", "高级实验师")
INDUSTRY_TITLES = (
    "正高级工程师",
    "高级工程师",
    "高级工程师",
    "工程师",
    "高级技师",
    "技术总监",
    "总工程师",
    "高级经济师",
)

# Invented but plausible 中职 school name patterns ({c} = city/county name without suffix).
VOCATIONAL_SCHOOL_PATTERNS = (
    "{c}市电子信息工程学校",
    "{c}市机电工程学校",
    "{c}市职业技术学校",
    "{c}市财经学校",
    "{c}市卫生学校",
    "{c}市交通职业中等专业学校",
    "{c}市建筑工程学校",
    "{c}市农业学校",
    "{c}市商业学校",
    "{c}市旅游职业学校",
    "{c}市第一职业高级中学",
    "{c}市第二职业高级中学",
    "{c}市艺术学校",
    "{c}市中等专业学校",
)
COUNTY_SCHOOL_PATTERNS = ("{c}职业教育中心", "{c}职业中等专业学校")

# 高职 tagged 双高 in the sample. Sample data: recalled from the 2019 national 双高 plan, not
# checked against the official list, so do not cite it as authoritative.
DOUBLE_HIGH = (
    "黄河水利职业技术学院",
    "河南工业职业技术学院",
    "郑州铁路职业技术学院",
    "河南职业技术学院",
    "济源职业技术学院",
    "河南农业职业学院",
    "河南机电职业学院",
    "河南工业和信息化职业学院",
)
# Renamed since the 2017 MoE list (same code): 2019 pilot of 职业本科.
RENAMED = {"周口科技职业学院": ("河南科技职业大学", "职教本科")}
DOUBLE_FIRST_CLASS = ("郑州大学", "河南大学")
