using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace HttpServer;

/// <summary>
/// The demo's sign-in for the approvals inbox: paste a token (printed by --print-token --role approver) and get a
/// cookie. A real server signs people in with its identity provider (OpenID Connect) instead.
/// </summary>
public static class ApprovalsSignIn
{
    public const string Scheme = "Approvers";

    public static void Map(WebApplication app, TokenValidationParameters parameters)
    {
        app.MapGet("/signin", (HttpContext context, IAntiforgery antiforgery) =>
        {
            // The form carries an anti-forgery token: another site cannot sign a browser in with a token of its own.
            var tokens = antiforgery.GetAndStoreTokens(context);
            var field = $"""<input type="hidden" name="{HtmlEncoder.Default.Encode(tokens.FormFieldName)}" value="{HtmlEncoder.Default.Encode(tokens.RequestToken ?? "")}">""";
            return Results.Content(
                $"""
                <!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Sign in to the approvals inbox</title></head>
                <body><form method="post" action="/signin">{field}<p><label>Token (from --print-token --role approver)<br>
                <textarea name="token" rows="6" cols="80"></textarea></label></p><p><button type="submit">Sign in</button></p></form></body></html>
                """,
                "text/html; charset=utf-8");
        });
        app.MapPost("/signin", async (HttpContext context, IAntiforgery antiforgery) =>
        {
            if (!await antiforgery.IsRequestValidAsync(context))
            {
                return Results.BadRequest("The sign-in form's anti-forgery token is missing or not valid; open /signin again and sign in from it.");
            }

            var form = await context.Request.ReadFormAsync();
            var result = await new JsonWebTokenHandler().ValidateTokenAsync(form["token"].ToString(), parameters);
            if (!result.IsValid)
            {
                return Results.Unauthorized();
            }

            await context.SignInAsync(Scheme, new ClaimsPrincipal(new ClaimsIdentity(result.ClaimsIdentity.Claims, Scheme, "sub", DemoTokens.RoleClaim)));
            return Results.Redirect("/approvals");
        }).DisableAntiforgery(); // checked above, with a message of its own
    }
}
