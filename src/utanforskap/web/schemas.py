"""Response shapes of the open API, for the OpenAPI description (Swedish, as users read it).

The endpoints send pre-serialised JSON for speed; these models document that JSON.
"""

from __future__ import annotations

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


class Fel(BaseModel):
    status: int
    fel: str = Field(description="Vad som gick fel, på svenska")
    detaljer: list[dict] | None = Field(default=None, description="Vid ogiltiga parametrar: fält och orsak")
