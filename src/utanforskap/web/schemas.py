"""Response shapes of the open API, for the OpenAPI description (Swedish, as users read it).

The endpoints send pre-serialised JSON for speed; these models document that JSON.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Metod(BaseModel):
    id: str = Field(description="Metodens id, t.ex. se-oppna-data-2022")
    titel: str
    version: str


class Meta(BaseModel):
    metod: Metod
    ar: int = Field(description="Årgång som kartan är beräknad för")
    datakalla: str = Field(description="Vilka data kartan bygger på")
    syntetiska_data: bool = Field(description="Sant när data är syntetiska (inte verkliga personer)")


class Lankar(BaseModel):
    api: str | None = Field(default=None, description="Resursens adress i API:t")
    sida: str | None = Field(default=None, description="Webbsidan för resursen")


class Omrade(BaseModel):
    regso_kod: str = Field(description="RegSO-kod, t.ex. 0180R024")
    regso_namn: str
    kommun_kod: str = Field(description="Kommunkod, fyra siffror")
    kommun_namn: str
    lan_kod: str = Field(description="Länskod, två siffror")
    lan_namn: str
    befolkning: int | None = Field(description="Folkmängd 31 december")
    barn: int | None = Field(description="Barn och unga 0–19 år")
    indikatorer: dict[str, float | None] = Field(description="Metodens tal per område (andelar som decimaltal, 0,25 = 25 %)")
    flaggor: dict[str, bool | None] = Field(description="Metodens flaggor: sant när faktorn passerar sin tröskel")
    klass: str | None = Field(description="Områdets klass, t.ex. 'stor' eller 'särskilt stor'; null när området inte är listat")
    listad: bool = Field(description="Sant när området har en klass")
    lankar: dict[str, str]


class Sidlankar(BaseModel):
    sjalv: str
    forsta: str
    sista: str
    nasta: str | None = Field(description="Nästa sida; null på sista sidan")
    foregaende: str | None = Field(description="Föregående sida; null på första sidan")


class OmradeLista(Meta):
    totalt: int = Field(description="Antal områden som matchar filtret")
    limit: int
    offset: int
    antal: int = Field(description="Antal områden på denna sida")
    lankar: Sidlankar
    omraden: list[Omrade]


class OmradeSvar(Meta):
    omrade: Omrade
    jamforelse: dict[str, dict[str, float | None]] = Field(description="Faktorernas värden för området, kommunen och riket")


class Kommun(BaseModel):
    kommun_kod: str
    kommun_namn: str
    lan_kod: str
    lan_namn: str | None
    befolkning: int | None
    antal_omraden: int = Field(description="Antal RegSO i kommunen")
    listade_omraden: int
    sarskilt_stor: int = Field(description="Listade områden i den högsta klassen")
    befolkning_i_listade: int | None
    barn_i_listade: int | None
    andel_befolkning_i_listade: float | None
    indikatorer: dict[str, float | None] = Field(description="Faktorernas värden för hela kommunen (summerade täljare och nämnare)")
    lankar: dict[str, str]


class KommunLista(Meta):
    totalt: int
    kommuner: list[Kommun]


class KommunSvar(Meta):
    kommun: Kommun
    riket: dict[str, float | None] = Field(description="Faktorernas värden för riket, att jämföra med")
    omraden: list[dict] = Field(description="Kommunens områden: kod, namn, klass och länkar")


class Parameter(BaseModel):
    parameter: str
    varde: float | list[float]
    enhet: str
    proveniens: str = Field(description="officiell, antagen, kalibrerad eller syntetisk")
    motivering: str


class Faktor(BaseModel):
    id: str
    namn: str
    status: str = Field(description="verklig, proxy (ersättningsmått) eller saknas")
    matt: str
    proxy_for: str


class MetodInfo(BaseModel):
    id: str
    titel: str
    version: str
    beskrivning: str
    kalla: str
    proveniens: str = Field(description="Sammanfattning av parametrarnas proveniens")
    anvands: bool = Field(description="Sant för metoden som kartan i denna tjänst är beräknad med")
    kan_koras_pa_kartan: bool = Field(description="Sant när metoden har RegSO som nyckel")
    parametrar: list[Parameter]
    faktorer: list[Faktor]


class MetodLista(BaseModel):
    totalt: int
    metoder: list[MetodInfo]


class Traff(BaseModel):
    typ: str = Field(description="kommun eller omrade")
    kod: str
    namn: str
    sammanhang: str = Field(description="Län, eller kommun och län för ett område")
    sida: str
    api: str


class SokSvar(BaseModel):
    q: str
    antal: int
    traffar: list[Traff]


class FelDetalj(BaseModel):
    falt: str = Field(description="Parametern som är fel, t.ex. limit")
    plats: str = Field(description="Var parametern står: frågeparameter, sökväg, rubrik eller innehåll")
    meddelande: str = Field(description="Vad som är fel med den, på svenska")
    angivet: str | int | float | bool | None = Field(default=None, description="Värdet som angavs (saknas när parametern inte angavs)")


class Fel(BaseModel):
    """Every error of the API: 404 for an unknown code, 422 for an invalid parameter, 405, 500."""

    status: int = Field(description="HTTP-statusen, t.ex. 404 eller 422")
    fel: str = Field(description="Vad som gick fel, på svenska")
    detaljer: list[FelDetalj] | None = Field(default=None, description="Vid 422 (ogiltiga parametrar): varje fält och orsaken")


class Oversikt(Meta):
    version: str = Field(description="API:ts version, v1")
    resurser: dict[str, str] = Field(description="Adresserna till API:ts resurser; {kommunkod} osv. byts mot en kod")


class Lan(BaseModel):
    lan_kod: str = Field(description="Länskod, två siffror")
    lan_namn: str
    befolkning: int | None = Field(description="Folkmängd 31 december")
    listade_omraden: int = Field(description="Antal listade områden i länet")
    sarskilt_stor: int = Field(description="Listade områden i den högsta klassen")
    kommuner_med_listade: int = Field(description="Antal kommuner i länet med minst ett listat område")
    befolkning_i_listade: int | None
    barn_i_listade: int | None


class LanLista(Meta):
    totalt: int
    lan: list[Lan]


class Riket(BaseModel):
    befolkning: int | None
    antal_omraden: int = Field(description="Antal RegSO i landet")
    listade_omraden: int
    sarskilt_stor: int = Field(description="Listade områden i den högsta klassen")
    kommuner_med_listade: int
    befolkning_i_listade: int | None
    barn_i_listade: int | None
    andel_befolkning_i_listade: float | None = Field(description="Andel av invånarna som bor i listade områden (decimaltal)")
    indikatorer: dict[str, float | None] = Field(description="Faktorernas värden för riket (summerade täljare och nämnare)")


class RiketSvar(Meta):
    riket: Riket


class GeoJSONFeature(BaseModel):
    type: str = Field(description="Feature")
    geometry: dict = Field(description="Polygon eller MultiPolygon i WGS 84")
    properties: dict = Field(description="Kod, namn och kartans siffror för området eller kommunen")


class GeoJSON(BaseModel):
    type: str = Field(description="FeatureCollection")
    geometri: str = Field(description="Gränsernas källa och förenkling, att ange under en karta")
    features: list[GeoJSONFeature]


class RobusthetMetod(Meta):
    osakerhet: Any = Field(description="Metodens deklarerade osäkerhet ([osakerhet]) som den drogs")
    dragningar: int = Field(description="Antal Monte Carlo-dragningar")
    seed: int = Field(description="Fröet; samma frö ger samma resultat")
    grans_sakert_listad: float = Field(description="Sannolikhet från vilken ett område är säkert listat")
    grans_sakert_ej_listad: float = Field(description="Sannolikhet under vilken ett område är säkert ej listat")


class Robusthet(RobusthetMetod):
    sammanfattning: dict[str, Any] = Field(description="Listans storlek, kommuner, invånare och barn över dragningarna")
    listans_storlek: list[dict[str, Any]] = Field(description="Antal dragningar per liststorlek")
    kanslighet: list[dict[str, Any]] = Field(description="Sobol-index och en-i-taget per parameter")
    narmast_gransen: list[dict[str, Any]] = Field(description="Områdena närmast gränsen")


class OmradeRobusthet(RobusthetMetod):
    robusthet: dict[str, Any] | None = Field(description="Områdets sannolikheter, flaggintervall, marginaler och etikett")


class Insats(BaseModel):
    """En insats i metodbanken (docs/metodbank.md beskriver varje fält)."""
    agare_namn: Any = None
    agare_typ: Any = None
    alder_fran: Any = None
    alder_till: Any = None
    andrad: Any = None
    ansvarig_kommun: Any = None
    belopp_text: Any = None
    beskrivning: Any = None
    beslut_text: Any = None
    deltagare: Any = None
    evidensgrad: Any = None
    evidensgrad_text: Any = None
    evidensregel: Any = None
    exempel: Any = None
    extern_id: Any = None
    finansiering: Any = None
    id: Any = None
    kallor: Any = None
    kallstatus: Any = None
    kommuner: Any = None
    kon: Any = None
    kostnad_kr: Any = None
    malgrupp: Any = None
    namn: Any = None
    niva: Any = None
    omraden: Any = None
    period_text: Any = None
    platser: Any = None
    problem: Any = None
    resultatmatt: Any = None
    samverkan: Any = None
    sektorer: Any = None
    skapad: Any = None
    slut: Any = None
    start: Any = None
    status: Any = None
    status_text: Any = None
    urval: Any = None
    utvarderingar: Any = None


class InsatsLista(BaseModel):
    totalt: int = Field(description="Antal träffar")
    limit: int
    offset: int
    insatser: list[Insats]


class Tidsserie(Meta):
    regso_kod: str
    ar_karta: list[int] = Field(description="År som kartan finns för i datakällan")
    karta: Any = Field(description="Per år: klass, antal flaggor och varje faktors värde, flagga och tröskel")
    kriminalitet: Any = Field(description="Verklig serie ur paketet: brott per 1 000 invånare och flaggor per år")
    omradestyp: Any = Field(description="Verklig serie ur paketet: SCB:s och Boverkets områdestyp per år")
    seriebrott: Any = Field(default=None, description="Brott i serierna som åren korsar (områdesindelning, brus, valdistrikt, definition), och om de gäller dessa data")
    anmarkning: Any = Field(default=None, description="Vad serierna inte täcker")


class Forandringar(Meta):
    fran: int
    till: int
    ar_karta: list[int]
    ar_kriminalitet: list[int]
    ar_omradestyp: list[int]
    lista: Any = Field(description="Kartans förändringar: in, ut, upp, ned, med ändrade flaggor, marginal och orsak")
    kriminalitet: Any = Field(description="RegSO vars brottsflagga tändes eller släcktes")
    omradestyp: Any = Field(description="RegSO in i eller ut ur områdestyp 1")


class Valdeltagande(BaseModel):
    kommun_kod: str
    val: Any = Field(description="Per riksdagsval: röstberättigade, röstande och valdeltagande för kommunen, länet och riket, och valdistrikten med lägst valdeltagande")
    kalla: str = Field(description="Källan: Valmyndighetens slutliga resultat per valdistrikt")
    kalla_kort: str
    anmarkning: str | None = Field(default=None, description="Vad uppgifterna inte är: valdistrikt, inte RegSO")


class Arbetsmarknad(BaseModel):
    kommun: str | None = Field(description="Kommunkoden, eller null för riket")
    syntetisk: bool = Field(description="Sant när uppgifterna bygger på SYNTETISKA DATA")
    ar: list[Any] = Field(description="År med uppgifter")
    anmarkningar: list[str] = Field(description="Vad uppgifterna saknar eller inte kan visa")
    rader: list[dict[str, Any]] = Field(description="Kvoter av summor per år, mått, grupp och indelning (kön, födelseregion)")
