"""What the command line says, in English and Japanese."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from approvals.errors import Label, fill

__all__ = ["TEXT", "day", "missing_keys", "moment", "refusal", "say", "set_flag"]

TEXT: dict[str, Label] = {
    "filed": Label("Filed {reference}: {title}.", "{reference} を届け出ました: {title}。"),
    "took": Label(
        "{reference}: {step} recorded; now '{state}'.",
        "{reference}: {step}を記録しました。現在「{state}」です。",
    ),
    "init.signing": Label(
        "Signing began with your key {key_id} ({path}, keep it; 0600): every event from now on "
        "is signed. Each approver makes a key with `approvals keys new`; whoever appoints them "
        "registers it with `approvals roster register-key`.",
        "あなたの鍵 {key_id}({path}、0600 で保管)で署名を開始しました: 以後すべてのイベントが"
        "署名されます。各承認者は `approvals keys new` で鍵を作成し、選任した者が "
        "`approvals roster register-key` で登録します。",
    ),
    "init.unsigned": Label(
        "Events are not signed yet: {user} begins signing with `approvals --user {user} init "
        "--representative {user}` (or `keys new`, then `roster register-key {user} FILE`).",
        "イベントはまだ署名されていません: {user} が `approvals --user {user} init "
        "--representative {user}`(または `keys new` の後 `roster register-key {user} FILE`)で"
        "署名を開始します。",
    ),
    "keys.made": Label(
        "Made key {key_id} for {holder}: {path} (keep it; 0600). Have {public} registered by "
        "whoever may appoint {holder}: approvals roster register-key {holder} {public}",
        "{holder} の鍵 {key_id} を作成しました: {path}(0600 で保管してください)。{holder} を"
        "選任できる者に {public} を登録してもらってください: approvals roster register-key "
        "{holder} {public}",
    ),
    "keys.none": Label(
        "You have no signing key in {folder}: make one with `approvals keys new`.",
        "{folder} に署名鍵がありません。`approvals keys new` で作成してください。",
    ),
    "keys.registered": Label(
        "{holder} signs with key {key_id}, registered on the roster.",
        "{holder} は鍵 {key_id} で署名します(名簿に登録済み)。",
    ),
    "keys.unregistered": Label(
        "{holder}'s key {key_id} is not registered on the roster yet.",
        "{holder} の鍵 {key_id} はまだ名簿に登録されていません。",
    ),
    "keys.revoked": Label(
        "{holder}'s key {key_id} was revoked: make a new one and have it registered.",
        "{holder} の鍵 {key_id} は失効しています。新しい鍵を作成して登録を受けてください。",
    ),
    "key.registered": Label(
        "Registered key {key_id} for {holder}.", "{holder} の鍵 {key_id} を登録しました。"
    ),
    "key.revoked": Label("Revoked key {key_id}.", "鍵 {key_id} を失効させました。"),
    "appointed": Label(
        "Appointed {user} as {role:a}{department}.", "{user} を{department}{role}に選任しました。"
    ),
    "dismissed": Label(
        "Dismissed {user} as {role:a}{department}.", "{user} の{department}{role}を解任しました。"
    ),
    "init.done": Label("Store ready at {url}.", "保存先を用意しました: {url}"),
    "init.roster": Label("The roster's representative: {user}.", "名簿の代表者: {user}"),
    "init.granted": Label(
        "{role} may now read the log and append to it, and nothing more.",
        "{role} はログの読み取りと追記だけができるようになりました。",
    ),
    "upgrade.none": Label(
        "The store {url} is up to date for approvals {release}: nothing to upgrade, nothing "
        "written.",
        "保存先 {url} は approvals {release} に対応済みです。更新することはなく、何も書き込んで"
        "いません。",
    ),
    "upgrade.done": Label(
        "Upgraded the store {url} from approvals {old} to {new} (recorded in approvals_upgrades).",
        "保存先 {url} を approvals {old} から {new} に更新しました(approvals_upgrades に記録)。",
    ),
    "upgrade.mended": Label(
        "Brought the store {url} up to date for approvals {new} (recorded in approvals_upgrades).",
        "保存先 {url} を approvals {new} に合わせました(approvals_upgrades に記録)。",
    ),
    "upgrade.rebuilt": Label(
        "Rebuilt from the log ({events:n/event/events} read): {models}.",
        "読み取りモデル {models} を再構築しました(読み込んだイベント {events:n} 件)。",
    ),
    "upgrade.guards": Label(
        "Made these append-only triggers again: {names}.",
        "追記専用トリガー {names} を作り直しました。",
    ),
    "upgrade.granted": Label(
        "{role} may again read the log and append to it, and nothing more.",
        "{role} は再びログの読み取りと追記だけができるようになりました。",
    ),
    "upgrade.needed": Label(
        "The store {url} needs upgrading: its owner runs `approvals --db {owner} upgrade`, "
        "which does what follows.",
        "保存先 {url} は更新が必要です。所有者が `approvals --db {owner} upgrade` を実行すると、"
        "次のことを行います。",
    ),
    "upgrade.will_migrate": Label(
        "Its tables go from approvals {old} to {new}.",
        "テーブルを approvals {old} から {new} に移行します。",
    ),
    "upgrade.will_rebuild": Label(
        "These read models are rebuilt from the log: {models}.",
        "読み取りモデル {models} を再構築します。",
    ),
    "upgrade.will_guard": Label(
        "These append-only triggers are made again: {names}.",
        "追記専用トリガー {names} を作り直します。",
    ),
    "upgrade.will_grant": Label(
        "{roles} get their rights again.", "{roles} に権限を付与し直します。"
    ),
    "empty.inbox": Label("Nothing waits for {user}.", "{user} の対応待ちはありません。"),
    "empty.list": Label("No cases.", "案件はありません。"),
    "empty.register": Label("No entries.", "該当する記録はありません。"),
    "empty.subject": Label(
        "No provision names the data subject {subject}.",
        "情報主体「{subject}」を含む提供の記録はありません。",
    ),
    "remind.none": Label(
        "Nothing is overdue or due within {days:n/day/days}.",
        "期限超過のもの、{days:n} 日以内に期限が来るものはありません。",
    ),
    "remind.person": Label(
        "{person}: {overdue:n} overdue, {soon:n} due soon",
        "{person}: 期限超過 {overdue:n} 件、期限間近 {soon:n} 件",
    ),
    "register.more": Label(
        "Only the first {limit:n/entry is/entries are} shown; raise --limit, or give --limit 0 "
        "for all.",
        "最初の {limit:n} 件だけを表示しています。"
        "--limit を増やすか、--limit 0 で全件を表示します。",
    ),
    "projections.rebuilt": Label(
        "Rebuilt {models} from the log: {events:n/event/events} read.",
        "{models} をログから再構築しました(読み込んだイベント {events:n} 件)。",
    ),
    "projections.same": Label(
        "The read models equal a fresh rebuild from the log (at position {position}).",
        "読み取りモデルはログからの再構築と一致します(位置 {position})。",
    ),
    "projections.differ": Label(
        "{count:n/row differs/rows differ} from a fresh rebuild; run "
        "`approvals projections rebuild {models}`.",
        "{count:n} 行が再構築の結果と異なります。"
        "`approvals projections rebuild {models}` を実行してください。",
    ),
    "projections.following": Label(
        "Following the log at {url}; stop with Ctrl-C.",
        "{url} のログを追跡しています。Ctrl-C で停止します。",
    ),
    "projections.stopped": Label(
        "Stopped: {events:n/event/events} taken in.",
        "停止しました(反映したイベント {events:n} 件)。",
    ),
    "empty.roster.then": Label(
        "Nobody held a role at that moment.", "その時点で役割を持つ者はいませんでした。"
    ),
    "within": Label("within {amount} {unit}", "{amount}{unit}以内"),
    "unit.years": Label("years", "年"),
    "unit.business_days": Label("business days", "営業日"),
    "unit.days": Label("days", "日"),
    "unit.hours": Label("hours", "時間"),
    "unit.minutes": Label("minutes", "分"),
    "unit.years.one": Label("year", "年"),
    "unit.business_days.one": Label("business day", "営業日"),
    "unit.days.one": Label("day", "日"),
    "unit.civil_days": Label(
        "days, the first day not counted (Civil Code Art.140)", "日(初日不算入、民法第140条)"
    ),
    "unit.civil_days.one": Label(
        "day, the first day not counted (Civil Code Art.140)", "日(初日不算入、民法第140条)"
    ),
    "unit.hours.one": Label("hour", "時間"),
    "unit.minutes.one": Label("minute", "分"),
    "from.field": Label(" from “{field}”", "(「{field}」から)"),
    "periodic": Label(", then every such span after it", "、以後同じ期間ごと"),
    "on.field": Label("by the end of the day “{field}”", "「{field}」の当日中"),
    "retention": Label(
        "{years} years from when the case is {states}", "案件が{states}となってから{years}年"
    ),
    "empty.roster": Label(
        "The roster is empty; start it with `approvals init --representative NAME`.",
        "名簿は空です。`approvals init --representative 氏名` で作成してください。",
    ),
    "valid": Label("ok  {path}  ({workflow} v{version})", "OK  {path}  ({workflow} 版{version})"),
    "overdue": Label("OVERDUE", "期限超過"),
    "none": Label("none", "なし"),
    "by": Label("by", "担当"),
    "needs": Label("needs", "必要"),
    "type.set": Label(
        "To give them, type {flags} (each with its value).",
        "入力するには {flags} を指定してください(それぞれ値を付けて)。",
    ),
    "type.check": Label("Once confirmed, type {flags}.", "確認したら {flags} を指定してください。"),
    "hint.workflows": Label(
        "A company's own workflow is read from its folder: give --workflows DIR (or "
        "APPROVALS_WORKFLOWS).",
        "会社独自のワークフローはそのフォルダから読み込みます: --workflows DIR(又は "
        "APPROVALS_WORKFLOWS)を指定してください。",
    ),
    "to set": Label("to give", "入力する項目"),
    "to check": Label("to confirm", "確認する項目"),
    "h.filing": Label("filing", "届け出"),
    "if": Label("when “{field}” is yes, also", "「{field}」が「はい」のときは追加で"),
    "h.covers": Label("the approval covers", "承認の対象"),
    "h.deadline_of": Label("deadline", "期限"),
    "comment required": Label("a comment", "コメント"),
    "new each time": Label("new each time", "毎回入力"),
    "only the filer": Label("only the filer", "届け出た本人のみ"),
    "nobody": Label("nobody holds this role now", "現在この役割の者はいません"),
    "until": Label("until", "まで"),
    "not started": Label("starts when the case ends", "案件の終了から起算"),
    "demo.store": Label("Demo store: {path}", "デモ用の保存先: {path}"),
    "demo.inbox": Label("Inbox of {user} ({role})", "{user}({role})の対応待ち"),
    "demo.history": Label("History of {reference}", "{reference} の履歴"),
    "demo.cases": Label("Cases", "案件一覧"),
    "demo.done": Label(
        "Five workflows ran to their end ({returned} was returned and resubmitted, {rejected} "
        "was rejected); two cases wait. Every event is signed; each sample person's key is in "
        "{keys}. Try: approvals --db {url} --keys {keys} --user sato inbox",
        "5 つのワークフローを最後まで実行しました({returned} は差し戻し後に再提出、{rejected} は"
        "却下)。2 件が対応待ちです。すべてのイベントは署名済みで、各人の鍵は {keys} にあります。"
        "例: approvals --db {url} --keys {keys} --user sato inbox",
    ),
    "audit.open_without_bundle": Label(
        "--open-with opens the case keys sealed in a bundle: give --bundle DIR too (the "
        "database's own cases are read with the keys it holds).",
        "--open-with はバンドルに封入されたケース鍵を開くためのものです。--bundle DIR も指定して"
        "ください(データベースの案件はそこにある鍵で読みます)。",
    ),
    "audit.keys": Label(
        "Key {key_id}: private key {private} (keep it with the auditor), public key {public}.",
        "鍵 {key_id}: 秘密鍵 {private}(監査責任者が保管)、公開鍵 {public}",
    ),
    "audit.checkpoint": Label(
        "Checkpoint of {size:n/event/events} (root {root}…) signed with key {key_id}: {path}",
        "{size:n} 件のイベントのチェックポイント(ルート {root}…)を鍵 {key_id} で署名しました: "
        "{path}",
    ),
    "audit.walked": Label(
        "Walked {events:n/event/events} (root {root}…), against "
        "{checkpoints:n/checkpoint/checkpoints}.",
        "{events:n} 件のイベントを検証しました(ルート {root}…、"
        "チェックポイント {checkpoints:n} 件)。",
    ),
    "audit.ok": Label(
        "OK: every event is what the engine recorded, and every case kept its rules.",
        "OK: すべてのイベントが記録どおりで、すべての案件が規則を守っています。",
    ),
    "audit.failed": Label(
        "FAILED: {count:n/finding/findings}. The first bad event: {subject}{where}: {message}.",
        "不合格: 指摘 {count:n} 件。最初の不正なイベント: {subject}{where}: {message}。",
    ),
    "audit.note": Label("Note", "注意"),
    "audit.report": Label("Report written to {path}.", "報告書を {path} に書き出しました。"),
    "audit.bundle": Label(
        "Bundle of {events:n/event/events} written to {path}; check it with "
        "`approvals audit verify --bundle {path}`.",
        "{events:n} 件のイベントのバンドルを {path} に書き出しました。"
        "`approvals audit verify --bundle {path}` で検証できます。",
    ),
    "retention.none": Label("No case is due.", "対象の案件はありません。"),
    "retention.was_disposed": Label(
        "disposed of {date} by {by} ({count:n/event/events})", "{date} に {by} が廃棄({count:n} 件)"
    ),
    "retention.on_hold": Label("legal hold: {reason}", "保全措置中: {reason}"),
    "retention.approved": Label("disposal approved by {by}", "{by} が廃棄を承認"),
    "retention.due": Label("due for disposal", "廃棄対象"),
    "retention.kept": Label("kept", "保存中"),
    # headings
    "h.reference": Label("case", "整理番号"),
    "h.position": Label("position", "位置"),
    "h.status": Label("status", "状況"),
    "h.workflow": Label("workflow", "ワークフロー"),
    "h.title": Label("title", "件名"),
    "h.department": Label("department", "部"),
    "h.state": Label("state", "状態"),
    "h.filer": Label("filed by", "届出者"),
    "h.filed": Label("filed", "届出日時"),
    "h.updated": Label("updated", "更新日時"),
    "h.step": Label("step", "手順"),
    "h.since": Label("waiting since", "待機開始"),
    "h.due": Label("due", "期限"),
    "h.when": Label("when", "日時"),
    "h.who": Label("who", "実施者"),
    "h.as": Label("as", "役割"),
    "h.what": Label("what", "内容"),
    "h.to": Label("then", "結果"),
    "h.comment": Label("comment / evidence", "コメント・証跡"),
    "h.user": Label("person", "氏名"),
    "h.role": Label("role", "役割"),
    "h.from": Label("from", "開始"),
    "h.end": Label("until", "終了"),
    "h.fields": Label("recorded", "記録事項"),
    "h.checklist": Label("confirmed", "確認済み"),
    "h.documents": Label("documents", "添付文書"),
    "h.next": Label("next", "次の手順"),
    "h.deadlines": Label("deadlines", "期限"),
    "h.retention": Label("kept", "保存期間"),
    "h.flawed": Label("refused today", "現在は不可"),
    "h.kept_with": Label("kept as long as", "連動する案件"),
    "h.version": Label("version", "版"),
    "h.articles": Label("articles", "条文"),
    "h.states": Label("states", "状態"),
    "h.steps": Label("steps", "手順"),
    "h.final": Label("final", "終了"),
    "h.id": Label("id", "ID"),
    "h.decided": Label("decided", "判断日時"),
    "h.effective": Label("in effect from", "実施開始日"),
    "h.put_in_effect": Label("put in effect", "実施の記録日時"),
    "h.ended": Label("ended", "終了日時"),
    "h.holder": Label("holder", "保持者"),
    "h.key": Label("key", "鍵"),
    "h.registered_by": Label("registered by", "登録者"),
    "h.registered": Label("since", "登録日時"),
    "h.revoked": Label("revoked", "失効日時"),
    "h.vendor": Label("vendor", "預託先"),
    "h.basic": Label("basic contract", "基本契約"),
    "h.individual": Label("individual contract", "個別契約"),
    "h.handover": Label("handover", "預託日"),
    "h.contract_end": Label("contract end", "契約終了"),
    "h.inspected": Label("last inspection", "前回調査"),
    "h.next_inspection": Label("next inspection due", "次回調査期限"),
    "h.next_vendor_report": Label("vendor's report due", "預託先報告期限"),
    "h.breaches": Label("breaches (open)", "契約抵触(未措置)"),
    "h.subcontracting": Label("subcontracting (in effect/approved)", "再委託(実施中/承認済み)"),
    "h.kind": Label("kind", "種別"),
    "h.date": Label("date", "日付"),
    "h.party": Label("recipient / joint users", "提供先・共同利用者"),
    "h.subjects": Label("data subjects", "情報主体"),
    "h.items": Label("data items", "項目"),
    "h.consent": Label("consent", "同意"),
    "h.record_kept": Label("record kept until", "記録の保存期限"),
    "h.provider": Label("provider", "提供者"),
    "h.address": Label("address", "住所"),
    "h.representative": Label("representative", "代表者"),
    "h.obtained": Label("how the provider obtained it", "提供者の取得の経緯"),
    "h.sensitive": Label("sensitive", "要配慮"),
    "h.hold": Label("legal hold", "保全措置"),
    "h.disposed": Label("disposed", "廃棄日時"),
    "h.deadline": Label("deadline", "期限の種類"),
    "h.done": Label("done", "完了日時"),
    "h.late": Label("days late", "超過日数"),
    "h.model": Label("read model", "読み取りモデル"),
    "h.lag": Label("behind", "未反映"),
    "h.log": Label("log", "ログ"),
    "when.bad": Label(
        "“{value}” is not a moment: give 2026-04-30 or 2026-04-30T17:00 ({zone} unless an "
        "offset such as +09:00 is given).",
        "「{value}」は日時ではありません。2026-04-30 または 2026-04-30T17:00 の形で指定して"
        "ください(+09:00 のようなオフセットがなければ {zone} の時刻です)。",
    ),
    "zone.unknown": Label(
        "“{value}” is not a time zone the time zone database knows: give a name such as "
        "Asia/Tokyo or UTC.",
        "「{value}」というタイムゾーンはタイムゾーンデータベースにありません。Asia/Tokyo や "
        "UTC のような名前を指定してください。",
    ),
    "progress.rate": Label("{rate} events/s", "{rate} 件/秒"),
    "progress.verify": Label("Verifying the log", "ログを検証中"),
    "progress.export": Label("Exporting the log", "ログを出力中"),
    "progress.bundle": Label("Writing the bundle", "バンドルを作成中"),
    "progress.rebuild": Label("Rebuilding the read models", "読み取りモデルを再構築中"),
    "progress.catch_up": Label("Catching up", "未反映のイベントを取り込み中"),
}


# The headers of columns of moments: a table names the zone once, in the header
# ("due (JST)"), and its cells give the time alone (see moment()).
TIMED = frozenset({
    "h.filed", "h.updated", "h.since", "h.due", "h.when", "h.decided", "h.put_in_effect",
    "h.ended", "h.from", "h.end", "h.registered", "h.revoked",
})  # fmt: skip


def say(key: str, lang: str, **values: object) -> str:
    """Return the text ``key`` in ``lang`` with ``values`` filled in (a header of moments
    with the zone they are shown in)."""
    text = fill(TEXT[key].get(lang), lang, values)
    if key in TIMED:
        text += f" ({zone_mark()})" if lang == "en" else f"({zone_mark()})"
    return text


def zone_mark() -> str:
    """How a header names the zone: its abbreviation (JST, UTC, CET) where it has one, else
    its offset (+04), as it stands now."""
    from approvals.cli.session import shown_zone

    return datetime.now(shown_zone()).strftime("%Z")


def set_flag(key: str) -> str:
    """Return what to type to give the field ``key``."""
    return f"--set {key}=…"


def missing_keys(params: Mapping[str, object]) -> dict[str, list[str]]:
    """Return the keys of the fields and checklist items a refusal says are missing."""
    found: dict[str, list[str]] = {}
    for name, key in (("fields", "fields"), ("checklist", "items")):
        value = params.get(key, ())
        found[name] = [str(k) for k in value] if isinstance(value, tuple) else []
    return found


def refusal(sentence: str, params: Mapping[str, object], lang: str) -> str:
    """Return a refusal's ``sentence`` followed, when it names missing fields or checklist
    items, by what to type to give them (``--set KEY=…``, ``--check ITEM``)."""
    missing = missing_keys(params)
    gap = "" if lang == "ja" else " "
    if missing["fields"]:
        flags = " ".join(map(set_flag, missing["fields"]))
        return f"{sentence}{gap}{say('type.set', lang, flags=flags)}"
    if missing["checklist"]:
        flags = " ".join(f"--check {item}" for item in missing["checklist"])
        return f"{sentence}{gap}{say('type.check', lang, flags=flags)}"
    return sentence


def moment(value: datetime | None, *, offset: bool = False) -> str:
    """Return ``value`` as people read it: to the minute, in the command's zone (--zone).  In a
    table (under a header that names the zone, see :data:`TIMED`) without its offset, unless
    it differs from the zone's offset now (summer time); with ``offset``, always with it
    (``2026-04-01 09:00+09:00``): a sentence names no zone of its own."""
    from approvals.cli.session import shown_zone

    if value is None:
        return ""
    zone = shown_zone()
    shown = value.astimezone(zone)
    if offset or shown.utcoffset() != datetime.now(zone).utcoffset():
        return shown.isoformat(sep=" ", timespec="minutes")
    return shown.strftime("%Y-%m-%d %H:%M")


def day(value: date | None) -> str:
    """Return ``value`` as an ISO date, or nothing."""
    return "" if value is None else value.isoformat()
