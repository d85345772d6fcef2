from models.text import char_ngrams, normalize, tokenize


def test_spaces_between_cjk_removed() -> None:
    assert normalize("从事 体 育 学 理 论 和 应 用 研 究") == "从事体育学理论和应用研究"
    assert normalize("研究人员。 研究体育原理、 体育思想") == "研究人员。研究体育原理、体育思想"


def test_spaces_between_latin_words_kept() -> None:
    assert (
        normalize("Agricultural  Business and\tManagement")
        == "Agricultural Business and Management"
    )
    assert normalize("使用 Python 开发") == "使用 Python 开发"


def test_fullwidth_ascii_folded() -> None:
    assert normalize("ＡＩ工程师１２３") == "AI工程师123"
    assert normalize("（Ｐｙｔｈｏｎ）") == "(Python)"


def test_punctuation_unified() -> None:
    assert normalize("“智能制造”——【重点】") == '"智能制造"--(重点)'
    assert normalize("机构中,担任领导职务;签署文件:") == "机构中，担任领导职务；签署文件："
    # ASCII punctuation between Latin / digits stays ASCII
    assert normalize("1,000 people; 12:30") == "1,000 people; 12:30"


def test_normalize_idempotent_and_empty() -> None:
    s = "ＡＩ 工 程 师 ,  使用 Python ；【数控】"
    assert normalize(normalize(s)) == normalize(s)
    assert normalize("") == ""


def test_tokenize_mixed_chinese_english() -> None:
    toks = tokenize("AI工程师（Python）使用TensorFlow开发智能制造系统")
    assert "ai" in toks and "python" in toks and "tensorflow" in toks
    assert "工程师" in toks and "智能" in toks and "制造" in toks
    assert all(t == t.lower() for t in toks)
    assert "（" not in toks and "(" not in toks


def test_tokenize_user_dictionary_keeps_domain_terms() -> None:
    toks = tokenize("计算机网络技术专业培养电子商务师")
    assert "计算机网络技术" in toks  # a major name from the catalogue dictionary
    assert "网络" in toks and "技术" in toks  # search mode also yields the parts
    assert "电子商务师" in toks  # an occupation name


def test_tokenize_english_stems_and_stopwords() -> None:
    assert tokenize("The Programs of Agricultural Management") == ["program", "agricultur", "manag"]


def test_tokenize_drops_stopwords_and_punct() -> None:
    toks = tokenize("的、和。，！")
    assert toks == []


def test_char_ngrams() -> None:
    assert char_ngrams("数控加工 CNC 车床") == ["数控", "控加", "加工", "车床"]
